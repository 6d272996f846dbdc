"""DiDeMo's videos keep their Flickr names: .mts, .m2ts, .3g2 and a bare "." among them. The
extractor and the raw-video source index them, and every video of the annotation files (where
one video may be named both "X" and "X.") finds its frames."""
import logging
import os
import shutil

from dataloaders.registry import load_retrieval_splits
from dataloaders.video_files import index_videos_by_stem, strip_video_extension
from dataloaders.video_source import open_video_source
from preprocess.extract_frames import extract_frames
from tests.support.annotations import DIDEMO_VAL, write_didemo
from tests.support.videos import write_test_video


def test_stems_of_camcorder_phone_and_extensionless_names():
    assert [strip_video_extension(name) for name in ("a.mts", "b.M2TS", "c.3g2", "d.", "e", "f.mov", "g.txt")] == \
        ["a", "b", "c", "d", "e", "f", "g.txt"]


def test_didemo_videos_under_their_real_names_are_extracted_and_found(tmp_path, caplog):
    videos = tmp_path / "videos"
    videos.mkdir()
    names = sorted({video for video, _ in DIDEMO_VAL if "fb3d4c5a3e" not in video})  # that one is on disk as "X."
    names.append("99963443@N00_2373417410_fb3d4c5a3e.")
    first = write_test_video(videos / "first.avi", 8, fourcc="MJPG")
    for name in names:
        shutil.copy(first, videos / name)
    os.remove(first)
    assert sorted(index_videos_by_stem(str(videos))) == sorted(strip_video_extension(name) for name in names)
    frames = str(tmp_path / "frames")
    assert extract_frames(str(videos), frames, short_side=16)["extracted"] == 6
    val = load_retrieval_splits("didemo", write_didemo(str(tmp_path / "didemo"), DIDEMO_VAL))["val"]
    for source in (open_video_source(frames), open_video_source(str(videos))):
        with caplog.at_level(logging.WARNING):
            assert source.restrict(val).video_ids == val.video_ids
        assert not [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
