"""Bad input through the whole command with its default loader (4 DataLoader workers): one
line on stderr and exit status 2, or a skip that log.txt records; nothing from a decoder on
the terminal without a name, no carriage-return progress bars in a non-terminal log.
Evaluation-only runs (the test split through the same DataLoader workers) keep these fast;
the worker error is also shown in training."""
import os
import re
import shutil

import pytest

import main_task_retrieval
from tests.support.videos import damage_entropy_coded_data, truncate

pytestmark = pytest.mark.slow  # every test runs the driver end to end


def run_main(synthetic, name, features, annotations=None, task="--do_eval"):
    """main() with the default --num_thread_reader (4 workers) -> (exit status, output dir)."""
    output = synthetic["root"] / name
    argv = [task, "--data_path", annotations or synthetic["annotations"], "--features_path", features,
            "--output_dir", str(output), "--pretrained_clip_name", "tiny", "--max_words", "12", "--max_frames", "3",
            "--cross_num_hidden_layers", "1", "--epochs", "1", "--batch_size", "8", "--batch_size_val", "4"]
    return main_task_retrieval.main(argv), output


def assert_only_progress_lines(stderr: str):
    """stderr holds progress lines only: no carriage returns of a redrawn bar, no decoder output."""
    assert "\r" not in stderr
    for line in stderr.splitlines():
        assert re.match(r"\d\d:\d\d:\d\d encode (videos|captions): \d+/\d+ ", line), line


def copy_of(synthetic, key, name):
    """A copy of the fixture's annotations, frames or videos that a test may damage."""
    copy = str(synthetic["root"] / name)
    folder = synthetic["root"] / "data" / "videos" if key == "videos" else synthetic[key]
    shutil.copytree(folder, copy)
    return copy


def test_a_damaged_frame_is_a_logged_warning_and_the_run_goes_on(synthetic, capfd):
    frames = copy_of(synthetic, "frames", "frames_damaged")
    bad = os.path.join(frames, "frames", "video23", "000000.jpg")  # the first frame: sampled at any --max_frames
    with open(bad, "rb") as handle:
        data = handle.read()
    with open(bad, "wb") as handle:
        handle.write(damage_entropy_coded_data(data))
    code, output = run_main(synthetic, "damaged", frames)
    captured = capfd.readouterr()
    assert code == 0
    warning = f"warning: msrvtt video23: frame {bad} is unreadable (corrupt data, the decoder says: Corrupt JPEG data"
    assert warning in (output / "log.txt").read_text()  # written by a DataLoader worker
    assert warning in captured.out
    assert "encode videos: 2/2 (100.0%)" in captured.err
    assert_only_progress_lines(captured.err)  # libjpeg's own line, without a file name, is gone


def test_a_clip_without_a_readable_frame_in_a_worker_is_one_line_and_exit_2(synthetic, capfd):
    frames = copy_of(synthetic, "frames", "frames_unreadable")
    folder = os.path.join(frames, "frames", "video5")
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(b"\xff\xd8 not a jpeg \xff\xd9")
    code, output = run_main(synthetic, "unreadable", frames, task="--do_train")
    captured = capfd.readouterr()
    assert code == 2
    assert captured.err == f"error: msrvtt video5: no readable frame in {folder}\n"
    assert f"warning: msrvtt video5: frame {os.path.join(folder, '000000.jpg')} is unreadable" in \
        (output / "log.txt").read_text()


def test_a_truncated_raw_video_is_skipped_with_a_logged_count(synthetic, capfd):
    videos = copy_of(synthetic, "videos", "videos_truncated")
    truncate(os.path.join(videos, "video24.avi"), 0.5)
    code, output = run_main(synthetic, "truncated", videos)
    assert code == 0
    log = (output / "log.txt").read_text()
    assert "warning: msrvtt test: 1 of 6 videos have no frames" in log
    assert f"video24 ({os.path.join(videos, 'video24.avi')}: cannot be opened as a video" in log
    assert_only_progress_lines(capfd.readouterr().err)


def test_a_header_only_test_csv_is_one_line_and_exit_2(synthetic, capfd):
    annotations = copy_of(synthetic, "annotations", "annotations_empty_test")
    path = os.path.join(annotations, "MSRVTT_JSFUSION_test.csv")
    with open(path) as handle:
        header = handle.readline()
    with open(path, "w") as handle:
        handle.write(header)
    code, _ = run_main(synthetic, "empty_test", synthetic["frames"], annotations)
    assert code == 2
    assert capfd.readouterr().err == f"error: msrvtt test split is empty: {path} has no video with a caption\n"
