"""Find video files: one walk over a folder tree, indexed by file stem (the video id).

LSMDC keeps one sub-folder per movie and dataset copies mix containers (.mp4, .avi, ...),
so ids are matched to files by stem, once, instead of guessing paths per sample.

DiDeMo's videos are Flickr uploads under their original names: besides the usual containers
some end in camcorder and phone extensions (.mts, .m2ts, .3g2) or in a bare "." (an upload
whose name had no extension), and the annotation files name a few of those videos both with
and without the trailing "." ("X" and "X."). A trailing "." is therefore stripped like an
extension: "X.", "X" and "X.mts" all have the id "X".
"""
import os
from typing import Dict

from modules.errors import InputError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp", ".ogv",
                    ".mts", ".m2ts", ".3g2")


def strip_video_extension(name: str) -> str:
    """'abc.mov' -> 'abc', 'abc.MTS' -> 'abc', 'abc.' -> 'abc'; names without a video extension
    are returned unchanged."""
    stem, extension = os.path.splitext(name)
    return stem if extension.lower() in VIDEO_EXTENSIONS or extension == "." else name


def index_videos_by_stem(video_dir: str) -> Dict[str, str]:
    """{file stem: path} for every video file below `video_dir`; a stem found twice is an error."""
    if not os.path.isdir(video_dir):
        raise InputError(f"video folder not found: {video_dir}")
    index: Dict[str, str] = {}
    for folder, subfolders, files in os.walk(video_dir):
        subfolders.sort()
        for name in sorted(files):
            stem = strip_video_extension(name)
            if stem == name:
                continue
            path = os.path.join(folder, name)
            if stem in index:
                raise InputError(f"two videos with the id {stem!r}: {index[stem]} and {path}; keep one")
            index[stem] = path
    return index
