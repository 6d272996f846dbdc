"""dataloaders/dataset_check.py and `python -m scripts.check_dataset`: a generated MSR-VTT-sized
annotation set (10,000 videos, 20 captions each) whose frames folder lacks 3 videos."""
import os
import time

import numpy as np
import pytest

from dataloaders.dataset_check import check_dataset
from dataloaders.frame_layout import frame_folder
from scripts import check_dataset as command
from tests.support.annotation_sets import write_frame_folder, write_msrvtt

TRAIN, TEST, CAPTIONS = 9000, 1000, 20
MISSING = {"train": ["video17", "video8000"], "test": ["video9500"]}


@pytest.fixture(scope="module")
def msrvtt_10k(tmp_path_factory):
    root = tmp_path_factory.mktemp("msrvtt_10k")
    os.makedirs(root / "annotations")
    write_msrvtt(str(root / "annotations"), TRAIN, TEST, CAPTIONS)
    write_frame_folder(str(root / "frames"), [f"video{i}" for i in range(TRAIN + TEST)],
                       set(MISSING["train"] + MISSING["test"]))
    return root


def test_three_missing_videos_are_counted_per_split(msrvtt_10k):
    started = time.perf_counter()
    source, checks = check_dataset("msrvtt", str(msrvtt_10k / "annotations"), str(msrvtt_10k / "frames"))
    print(f"dataset check of {TRAIN + TEST} videos, {(TRAIN + TEST) * CAPTIONS} captions: "
          f"{time.perf_counter() - started:.2f} s")
    assert list(checks) == ["train", "test"]
    train, test = checks["train"], checks["test"]
    assert (train.listed, train.with_frames, train.captions) == (TRAIN, TRAIN - 2, TRAIN * CAPTIONS)
    assert (test.listed, test.with_frames, test.captions) == (TEST, TEST - 1, TEST)
    assert [video_id for video_id, _ in train.missing] == MISSING["train"]
    assert train.missing[0][1] == "in the manifest but the folder is missing"
    expected = np.array([10 + i % 20 for i in range(TRAIN) if f"video{i}" not in MISSING["train"]])
    assert np.array_equal(train.frame_counts, expected)


def test_the_command_prints_the_table_and_exits_2_naming_the_missing(msrvtt_10k, capsys):
    started = time.perf_counter()
    code = command.main(["--datatype", "msrvtt", "--data_path", str(msrvtt_10k / "annotations"),
                         "--features_path", str(msrvtt_10k / "frames"), "--max_frames", "12"])
    seconds = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert code == 2
    assert "train      9000         8998        2    180000  10 / 19.5 / 29" in out
    assert "test       1000          999        1      1000  10 / 20 / 29" in out
    errors = err.strip().splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("error: msrvtt 9k train: 2 of 9000 videos have no frames in ")
    assert "video17 (" in errors[0] and "video8000 (" in errors[0]
    assert errors[1].startswith("error: msrvtt 9k test: 1 of 1000 videos have no frames") and "video9500" in errors[1]
    with capsys.disabled():
        print(f"\npython -m scripts.check_dataset on {TRAIN + TEST} MSR-VTT videos: {seconds:.2f} s")


def test_on_missing_skip_warns_and_lets_the_launcher_go_on(msrvtt_10k, capsys):
    code = command.main(["--data_path", str(msrvtt_10k / "annotations"), "--features_path", str(msrvtt_10k / "frames"),
                         "--on_missing", "skip", "--epochs", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0 and len(err) == 2
    assert err[0].startswith("warning: msrvtt 9k train: 2 of 9000 videos have no frames")


def test_a_complete_split_passes_and_splits_can_be_chosen(msrvtt_10k, tmp_path, capsys):
    os.makedirs(frame_folder(str(msrvtt_10k / "frames"), "video9500"))
    try:
        assert command.main(["--data_path", str(msrvtt_10k / "annotations"), "--features_path",
                             str(msrvtt_10k / "frames"), "--splits", "test"]) == 0
    finally:
        os.rmdir(frame_folder(str(msrvtt_10k / "frames"), "video9500"))
    out, err = capsys.readouterr()
    assert err == "" and "test       1000         1000        0" in out
    assert not [line for line in out.splitlines() if line.startswith("train ")]


def test_a_bad_annotation_file_is_one_error_line(tmp_path, capsys):
    write_msrvtt(str(tmp_path), 3, 1, 1)
    with open(tmp_path / "MSRVTT_train.9k.csv", "a") as handle:
        handle.write("video99\n")
    write_frame_folder(str(tmp_path / "frames"), [f"video{i}" for i in range(4)], set())
    assert command.main(["--data_path", str(tmp_path), "--features_path", str(tmp_path / "frames")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "MSRVTT_train.9k.csv" in err and "line 5" in err and "video99" in err
