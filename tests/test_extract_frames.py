import json
import os

import cv2
import pytest

from dataloaders.frame_layout import read_manifest
from modules.errors import InputError
from preprocess.extract_frames import extract_frames, main
from tests.support.videos import frame_number, write_test_video


@pytest.fixture
def video_dir(tmp_path):
    """Three readable videos (one in a movie sub-folder, as LSMDC) and two unreadable ones."""
    folder = tmp_path / "videos"
    (folder / "1004_Juno").mkdir(parents=True)
    write_test_video(folder / "a.mp4", 80)                                      # 10 s at 8 fps
    write_test_video(folder / "1004_Juno" / "b.avi", 20, fourcc="MJPG")        # 2.5 s
    write_test_video(folder / "c.mp4", 3)                                       # shorter than 1 s
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "broken.avi").write_bytes(b"RIFF" + bytes(500))
    (folder / "notes.txt").write_text("not a video")
    return str(folder)


def stored_frame_numbers(output_dir, video_id, count):
    frames = [cv2.imread(os.path.join(output_dir, "frames", video_id, f"{i:06d}.jpg"))[..., ::-1] for i in range(count)]
    return [frame_number(frame) for frame in frames], frames[0].shape


def test_extracts_the_middle_frame_of_every_second_with_a_manifest_and_failures(video_dir, tmp_path, capsys):
    output = str(tmp_path / "frames_out")
    assert main(["--video_dir", video_dir, "--output_dir", output, "--short_side", "16", "--workers", "2"]) == 0
    assert "extracted 3 videos, skipped 0 already done, 2 failed, 0 partial" in capsys.readouterr().out
    records = read_manifest(output)
    assert {k: (r.frames, r.fps, r.short_side, r.source) for k, r in records.items()} == {
        "a": (10, 1.0, 16, "a.mp4"), "b": (2, 1.0, 16, os.path.join("1004_Juno", "b.avi")), "c": (1, 1.0, 16, "c.mp4")}
    assert records["a"].duration == 10.0
    numbers, shape = stored_frame_numbers(output, "a", 10)
    assert numbers == list(range(4, 80, 8)) and shape == (16, 21, 3)
    assert stored_frame_numbers(output, "b", 2)[0] == [5, 15]
    assert stored_frame_numbers(output, "c", 1)[0] == [1]
    assert sorted(os.listdir(os.path.join(output, "frames", "a"))) == [f"{i:06d}.jpg" for i in range(10)]
    with open(os.path.join(output, "failures.jsonl")) as handle:
        failures = sorted((f["id"], f["source"], f["reason"]) for f in map(json.loads, handle))
    assert failures == [("broken", "broken.avi", "cannot be opened as a video (empty, truncated or not a video file)"),
                        ("empty", "empty.mp4", "empty file (0 bytes)")]


def test_frames_are_never_upscaled(video_dir, tmp_path):
    output = str(tmp_path / "out")
    extract_frames(video_dir, output, fps=2.0, short_side=224)
    numbers, shape = stored_frame_numbers(output, "a", 20)
    assert numbers == list(range(2, 80, 4)) and shape == (24, 32, 3)


def test_resume_skips_finished_videos_and_redoes_interrupted_ones(video_dir, tmp_path):
    output = str(tmp_path / "out")
    assert extract_frames(video_dir, output) == {"extracted": 3, "skipped": 0, "failed": 2, "partial": 0}
    manifest = os.path.join(output, "manifest.jsonl")
    with open(manifest) as handle:
        lines = {json.loads(line)["id"]: line for line in handle}
    # Interrupted: b renamed into place but its manifest line cut short, c half written.
    with open(manifest, "w") as handle:
        handle.write(lines["a"] + lines["b"][:20])
    os.remove(os.path.join(output, "frames", "b", "000001.jpg"))
    os.rename(os.path.join(output, "frames", "c"), os.path.join(output, "frames", ".partial-c"))
    finished = os.path.join(output, "frames", "a", "000000.jpg")
    os.utime(finished, (1, 1))
    assert extract_frames(video_dir, output, workers=2) == {"extracted": 2, "skipped": 1, "failed": 2, "partial": 0}
    assert os.stat(finished).st_mtime == 1  # not rewritten
    assert {k: r.frames for k, r in read_manifest(output).items()} == {"a": 10, "b": 2, "c": 1}
    assert sorted(os.listdir(os.path.join(output, "frames"))) == ["a", "b", "c"]
    assert sorted(os.listdir(os.path.join(output, "frames", "b"))) == ["000000.jpg", "000001.jpg"]
    with open(manifest) as handle:
        assert all(json.loads(line) for line in handle)


def test_resume_with_other_settings_is_refused(video_dir, tmp_path, capsys):
    output = str(tmp_path / "out")
    extract_frames(video_dir, output, fps=1.0, short_side=16)
    with pytest.raises(InputError, match="holds frames extracted at fps 1, short side 16"):
        extract_frames(video_dir, output, fps=2.0, short_side=16)
    assert main(["--video_dir", str(tmp_path / "nowhere"), "--output_dir", output]) == 2
    assert "video folder not found" in capsys.readouterr().err


def _frame_bytes(output_dir: str) -> dict:
    root = os.path.join(output_dir, "frames")
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name), "rb") as handle:
                files[os.path.relpath(os.path.join(folder, name), root)] = handle.read()
    return files


def test_frames_do_not_depend_on_the_worker_or_thread_count(video_dir, tmp_path):
    """The demo's inputs are a function of its seeds only: the same JPEG bytes from one worker with
    OpenCV's default threads as from two workers (each on one OpenCV thread)."""
    threads = cv2.getNumThreads()
    try:
        extract_frames(video_dir, str(tmp_path / "one"), workers=1)
    finally:
        cv2.setNumThreads(threads)
    extract_frames(video_dir, str(tmp_path / "two"), workers=2)
    one, two = _frame_bytes(str(tmp_path / "one")), _frame_bytes(str(tmp_path / "two"))
    assert len(one) == 13 and one == two
