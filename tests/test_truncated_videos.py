"""Videos cut short (an interrupted download or copy), written by the tests: an mp4 that lost
its index cannot be opened, an AVI keeps its header but ends early. Before training they are
skipped by --on_missing or read as the video they still are; extraction keeps what it can and
says so."""
import json
import logging
import os

import numpy as np
import pytest

from dataloaders.clip_reading import ClipSpec, read_clip
from dataloaders.frame_layout import read_manifest
from dataloaders.retrieval_split import split_from_pairs
from dataloaders.video_source import open_video_source
from modules.errors import InputError
from preprocess.extract_frames import extract_frames, main
from tests.support.videos import frame_number, truncate, write_test_video


@pytest.fixture
def video_dir(tmp_path):
    """whole: 80 frames (10 s at 8 fps); cut: the same MJPG AVI cut at 60% (frames 0-44 left);
    lost_index: an mp4 cut in half (its index, written last, is gone)."""
    folder = tmp_path / "videos"
    folder.mkdir()
    write_test_video(folder / "whole.mp4", 80)
    truncate(write_test_video(folder / "cut.avi", 80, fourcc="MJPG"), 0.6)
    truncate(write_test_video(folder / "lost_index.mp4", 80), 0.5)
    return str(folder)


def test_extraction_keeps_the_readable_frames_of_a_truncated_video_as_partial(video_dir, tmp_path, capsys):
    output = str(tmp_path / "frames")
    assert main(["--video_dir", video_dir, "--output_dir", output, "--short_side", "16", "--workers", "1"]) == 0
    assert "extracted 2 videos, skipped 0 already done, 1 failed, 1 partial" in capsys.readouterr().out
    records = read_manifest(output)
    assert (records["cut"].frames, records["cut"].expected_frames, records["cut"].missing_frames) == (6, 10, 4)
    assert (records["whole"].frames, records["whole"].missing_frames) == (10, 0)
    with open(os.path.join(output, "failures.jsonl")) as handle:
        failures = {line["id"]: line for line in map(json.loads, handle)}
    assert (failures["cut"]["frames"], failures["cut"]["expected_frames"]) == (6, 10)
    assert failures["cut"]["reason"].startswith("partial: 6 of 10 frames could be decoded")
    assert "moov atom not found" in failures["lost_index"]["reason"]
    # a rerun skips the finished videos and still lists the partial one
    assert extract_frames(video_dir, output, short_side=16) == {"extracted": 0, "skipped": 2, "failed": 1, "partial": 1}
    with open(os.path.join(output, "failures.jsonl")) as handle:
        assert sorted(line["id"] for line in map(json.loads, handle)) == ["cut", "lost_index"]


def test_partial_extractions_are_counted_when_a_split_is_restricted(video_dir, tmp_path, caplog):
    output = str(tmp_path / "frames")
    extract_frames(video_dir, output, short_side=16)
    split = split_from_pairs("msrvtt", "test", [("whole", "w"), ("cut", "c"), ("lost_index", "l")])
    with caplog.at_level(logging.WARNING):
        kept = open_video_source(output).restrict(split)
    assert kept.video_ids == ["whole", "cut"]
    assert ("msrvtt test: 1 of 2 videos were extracted only in part (truncated or damaged files) and are used with "
            "the frames they have, e.g. cut (6 of 10 frames)") in caplog.text


def test_raw_videos_that_cannot_give_a_frame_are_skipped_before_training(video_dir, caplog):
    source = open_video_source(video_dir, raw_fps=2.0)
    pairs = [("whole", "w"), ("lost_index", "l1"), ("cut", "c"), ("lost_index", "l2")]
    split = split_from_pairs("msrvtt", "train", pairs)
    with caplog.at_level(logging.WARNING):
        kept = source.restrict(split)
    assert kept.video_ids == ["whole", "cut"] and kept.captions == ["w", "c"]
    lost = os.path.join(video_dir, "lost_index.mp4")
    assert f"lost_index ({lost}: cannot be opened as a video" in caplog.text and "moov atom not found" in caplog.text
    with pytest.raises(InputError, match="msrvtt train: 1 of 3 videos have no frames .*on_missing=error"):
        source.restrict(split, on_missing="error")


def test_a_raw_video_that_ends_early_gives_its_clip_from_the_frames_it_has(video_dir, caplog):
    source = open_video_source(video_dir, raw_fps=2.0)
    spec = ClipSpec(max_frames=6, image_size=16, slice_framepos="uniform", frame_order="normal", random_offset=False)
    with caplog.at_level(logging.WARNING):
        video, mask = read_clip(source, "msrvtt", "cut", spec, np.random.default_rng(0))
    path = os.path.join(video_dir, "cut.avi")
    assert f"msrvtt cut: {path} ends after 45 of the 80 frames its header gives (truncated?)" in caplog.text
    # 45 readable frames at 8 fps -> 11 timeline frames at 2 fps (native (i + 0.5) * 45 / 11); 6 uniform
    # segments take timeline frames 0, 2, 4, 6, 8, 10 -> native 2, 10, 18, 26, 34, 42. Without the
    # re-sampling the clip would hold 3 frames: native 6, 22, 34 of 46, 62, 74 beyond the end.
    assert mask.all()
    assert [frame_number(frame.permute(1, 2, 0).numpy()) for frame in video] == [2, 10, 18, 26, 34, 42]
