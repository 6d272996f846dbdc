import logging
import os

import numpy as np
import pytest

from dataloaders.clip_reading import ClipSpec, read_clip
from dataloaders.retrieval_split import split_from_pairs
from dataloaders.video_source import FrameFolderSource, RawVideoSource, open_video_source
from modules.errors import InputError
from tests.support.videos import FRAMES_PER_SECOND, clip_numbers

def test_the_folder_decides_the_kind_of_source(sample_frames, sample_videos, tmp_path):
    frames = open_video_source(sample_frames)
    assert isinstance(frames, FrameFolderSource) and frames.kind == "frames"
    assert "pre-extracted frames" in frames.description
    raw = open_video_source(sample_videos, raw_fps=FRAMES_PER_SECOND)
    assert isinstance(raw, RawVideoSource) and raw.kind == "videos"
    assert raw.location("b") == os.path.join(sample_videos, "movie", "b.avi")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InputError, match="neither pre-extracted frames"):
        open_video_source(str(tmp_path / "nothing"))
    with pytest.raises(InputError, match="not a folder"):
        open_video_source(str(tmp_path / "missing"))


@pytest.mark.parametrize("uses_frames", [True, False])
def test_restrict_skips_videos_without_frames_and_reports_them(sample_frames, sample_videos, caplog, uses_frames):
    source = open_video_source(sample_frames) if uses_frames else open_video_source(sample_videos, raw_fps=FRAMES_PER_SECOND)
    split = split_from_pairs("vatex", "test", [("a", "a1"), ("gone", "g1"), ("a", "a2"), ("empty", "e1"), ("b", "b1")])
    with caplog.at_level(logging.WARNING):
        kept = source.restrict(split)
    assert kept.video_ids == ["a", "b"] and kept.captions == ["a1", "a2", "b1"]
    assert kept.caption_video_index.tolist() == [0, 0, 1]
    assert "vatex test: 2 of 4 videos have no frames" in caplog.text and "skipped with their 2 captions" in caplog.text
    assert f"gone ({source.location('gone')}: " in caplog.text
    with pytest.raises(InputError) as error:
        source.restrict(split, on_missing="error")
    message = str(error.value)
    assert message.startswith("vatex test: 2 of 4 videos have no frames") and "on_missing=error" in message
    assert f"empty ({source.location('empty')}: " in message
    assert ("not in manifest.jsonl" if uses_frames else "empty video file (0 bytes)") in message
    with pytest.raises(InputError, match="none left"):
        source.restrict(split_from_pairs("vatex", "test", [("gone", "g1")]))
    with pytest.raises(InputError, match="on_missing must be one of skip, error"):
        source.restrict(split, on_missing="ignore")


def test_raw_videos_give_the_frames_that_extraction_stores(sample_frames, sample_videos):
    spec = ClipSpec(max_frames=6, image_size=16, slice_framepos="uniform", frame_order="normal", random_offset=False)
    rng = np.random.default_rng(0)
    from_frames = read_clip(open_video_source(sample_frames), "msrvtt", "a", spec, rng)
    from_video = read_clip(open_video_source(sample_videos, raw_fps=FRAMES_PER_SECOND), "msrvtt", "a", spec, rng)
    # 20 timeline frames, 6 segments: middles 1, 5, 8, 11, 15, 18 -> native frames 4 * i + 2
    assert clip_numbers(*from_frames) == clip_numbers(*from_video) == [6, 22, 34, 46, 62, 74]
    assert (from_frames[0].int() - from_video[0].int()).abs().float().mean() < 4  # JPEG vs direct decode


def test_both_sources_count_the_frames_that_sampling_sees(sample_frames, sample_videos):
    frames, raw = open_video_source(sample_frames), open_video_source(sample_videos, raw_fps=FRAMES_PER_SECOND)
    assert [frames.frame_count(v) for v in ("a", "b", "c")] == [raw.frame_count(v) for v in ("a", "b", "c")] == [20, 5, 1]


def test_a_corrupt_jpeg_is_dropped_from_the_clip_with_a_warning(sample_frames, caplog):
    source = open_video_source(sample_frames)
    bad = os.path.join(sample_frames, "frames", "b", "000001.jpg")
    with open(bad, "rb") as handle:
        data = handle.read()
    with open(bad, "wb") as handle:
        handle.write(data[: len(data) // 2])  # truncated
    spec = ClipSpec(max_frames=8, image_size=16, slice_framepos="uniform", frame_order="normal", random_offset=False)
    with caplog.at_level(logging.WARNING):
        video, mask = read_clip(source, "lsmdc", "b", spec, np.random.default_rng(0))
    assert f"lsmdc b: frame {bad} is unreadable" in caplog.text
    assert mask.tolist() == [True] * 4 + [False] * 4  # 5 timeline frames, one dropped
    assert clip_numbers(video, mask) == [2, 10, 14, 18]
    assert video[4:].eq(0).all()
    for index in range(5):
        with open(os.path.join(sample_frames, "frames", "b", f"{index:06d}.jpg"), "wb") as handle:
            handle.write(b"\xff\xd8 not a jpeg \xff\xd9")
    with pytest.raises(InputError, match=f"lsmdc b: no readable frame in {os.path.join(sample_frames, 'frames', 'b')}"):
        read_clip(source, "lsmdc", "b", spec, np.random.default_rng(0))


def test_an_undecodable_raw_video_names_dataset_id_and_path(sample_videos):
    broken = os.path.join(sample_videos, "broken.mp4")
    with open(broken, "wb") as handle:
        handle.write(b"\x00\x00\x00\x18ftypmp42" + bytes(300))
    source = open_video_source(sample_videos)
    spec = ClipSpec(max_frames=4, image_size=16, slice_framepos="uniform", frame_order="normal", random_offset=False)
    with pytest.raises(InputError, match=f"msvd broken: {broken}: cannot be opened as a video"):
        read_clip(source, "msvd", "broken", spec, np.random.default_rng(0))
