"""Find video files: one walk over a folder tree, indexed by file stem (the video id).

LSMDC keeps one sub-folder per movie and dataset copies mix containers (.mp4, .avi, ...),
so ids are matched to files by stem, once, instead of guessing paths per sample.
"""
import os
from typing import Dict

from modules.errors import InputError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp", ".ogv")


def strip_video_extension(name: str) -> str:
    """'abc.mov' -> 'abc'; names without a video extension are returned unchanged."""
    stem, extension = os.path.splitext(name)
    return stem if extension.lower() in VIDEO_EXTENSIONS else name


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
