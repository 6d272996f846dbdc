"""The synthetic dataset: twins are exact time reversals with other captions, files in MSR-VTT's format."""
import json
import os
import re

import cv2
import numpy as np
import pandas as pd
import pytest

from modules.errors import InputError
from preprocess import make_synthetic_dataset as generator
from preprocess.make_synthetic_dataset import (COLOURS, REVERSED_MOTION, TWIN_MOTIONS, caption_variants, main,
                                               make_synthetic_dataset, plan_dataset, render_clip, sample_clip_spec)

SMALL = {"train_videos": 22, "val_videos": 3, "test_pairs": 4, "captions_per_video": 5, "size": 32, "seconds": 5,
         "fps": 2}
PLAN_KEYS = ("train_videos", "val_videos", "test_pairs", "captions_per_video", "seconds")
SEED = 3
# Caption word -> (axis: 0 = x, 1 = y pointing down; sign of the move).
DIRECTIONS = {"left": (0, -1), "right": (0, 1), "up": (1, -1), "top": (1, -1), "down": (1, 1), "bottom": (1, 1)}


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    return make_synthetic_dataset(str(tmp_path_factory.mktemp("synthetic") / "data"), seed=SEED, **SMALL)


def small_plan(seed=SEED):
    return plan_dataset(**{key: SMALL[key] for key in PLAN_KEYS}, seed=seed)


def one_spec_per_twin_class(seconds=7):
    rng = np.random.default_rng(0)
    return [sample_clip_spec(rng, forward, seconds) for forward, _ in TWIN_MOTIONS]


def shape_track(frames):
    """Per frame: centre (x, y) in pixels, area and mean colour of the shape (the saturated pixels)."""
    track = []
    for frame in frames.astype(np.float32):
        saturation = frame.max(axis=2) - frame.min(axis=2)
        ys, xs = np.nonzero(saturation > 40)
        core = saturation >= 0.9 * saturation.max()
        centre = (xs.mean(), ys.mean()) if len(xs) else (np.nan, np.nan)
        track.append((centre, len(xs), frame[core].mean(axis=0)))
    return track


def nearest_colour(rgb):
    return min(COLOURS, key=lambda name: np.linalg.norm(np.subtract(COLOURS[name], rgb)))


def assert_moves(start, end, directions, size):
    """The centre moved clearly along each named direction and stayed put on an axis none names."""
    moved = {DIRECTIONS[direction][0]: DIRECTIONS[direction][1] for direction in directions}
    for axis in (0, 1):
        delta = end[axis] - start[axis]
        if axis in moved:
            assert np.sign(delta) == moved[axis] and abs(delta) > 0.1 * size
        else:
            assert abs(delta) < 1.0


def assert_frames_match_caption(key_frames, caption):
    """Read the canonical caption and check the key frames show it."""
    size, track = key_frames.shape[1], shape_track(key_frames)
    (first_centre, first_area, first_rgb), (last_centre, last_area, last_rgb) = track[0], track[-1]
    if match := re.search(r"from the (top|bottom) (left|right) to the (top|bottom) (left|right)$", caption):
        assert_moves(first_centre, last_centre, (match[3], match[4]), size)
    elif match := re.search(r"moves from (left|right) to (left|right)$", caption):
        assert_moves(first_centre, last_centre, (match[2],), size)
    elif match := re.search(r"moves (left|right|up|down) and then (left|right|up|down)$", caption):
        # The corner is a middle key state: the first half is all first leg, the second half all second leg.
        assert_moves(first_centre, track[(len(track) - 1) // 2][0], (match[1],), size)
        assert_moves(track[len(track) // 2][0], last_centre, (match[2],), size)
    elif match := re.search(r"moves (up|down)$", caption):
        assert_moves(first_centre, last_centre, (match[1],), size)
    elif match := re.search(r"turns from (\w+) to (\w+)$", caption):
        assert (nearest_colour(first_rgb), nearest_colour(last_rgb)) == (match[1], match[2])
    elif caption.split()[-1] in ("grows", "appears"):
        assert last_area > first_area + 0.01 * size ** 2
        assert (first_area == 0) == (caption.split()[-1] == "appears")
    elif caption.split()[-1] in ("shrinks", "disappears"):
        assert first_area > last_area + 0.01 * size ** 2
        assert (last_area == 0) == (caption.split()[-1] == "disappears")
    else:
        raise AssertionError(f"no check for {caption!r}")


def test_twin_is_the_reversed_clip_with_a_different_caption():
    for spec in one_spec_per_twin_class():
        twin = spec.reversed()
        frames = render_clip(spec, 32, 3)
        assert frames.dtype == np.uint8 and frames.shape == (7 * 3, 32, 32, 3)
        assert np.array_equal(frames[0::3], frames[2::3])  # each key state held for a whole second
        assert np.array_equal(render_clip(twin, 32, 3), frames[::-1])
        assert twin.reversed() == spec
        assert set(caption_variants(spec)).isdisjoint(caption_variants(twin))


def test_frames_show_what_the_canonical_caption_says():
    specs = one_spec_per_twin_class()
    for spec in specs + [spec.reversed() for spec in specs]:
        assert_frames_match_caption(generator.render_key_frames(spec, 64), caption_variants(spec)[0])


def test_train_holds_both_directions_of_every_motion_and_test_twins_pair_up():
    plan = small_plan()
    by_id = {video.video_id: video for video in plan}
    train = [video.spec for video in plan if video.split == "train"]
    assert {spec.motion for spec in train} == set(REVERSED_MOTION)
    colour_changes = {spec.colours for spec in train if spec.motion == "colour_change"}
    assert colour_changes == {colours[::-1] for colours in colour_changes}
    test = [video for video in plan if video.split == "test"]
    assert len(test) == 2 * SMALL["test_pairs"]
    for video in test:
        twin = by_id[video.twin_id]
        assert twin.split == "test" and twin.twin_id == video.video_id
        assert twin.spec == video.spec.reversed() and twin.captions[0] != video.captions[0]
        assert video.captions[0] == caption_variants(video.spec)[0]
    assert [video.twin_id for video in plan if video.split == "validate"].count(None) == 1  # 3 = one pair + one


def test_annotation_files_have_msrvtt_columns_and_agree(small_dataset):
    annotations = small_dataset["annotations_dir"]
    with open(os.path.join(annotations, "MSRVTT_data.json")) as handle:
        data = json.load(handle)
    assert set(data) == {"videos", "sentences"}
    videos = pd.DataFrame(data["videos"])
    assert list(videos.columns) == ["video_id", "category", "url", "start time", "end time", "split", "id"]
    assert videos["split"].value_counts().to_dict() == {"train": 22, "test": 8, "validate": 3}
    assert list(videos["video_id"]) == [f"video{number}" for number in range(33)]
    assert list(videos["id"]) == list(range(33))
    sentences = pd.DataFrame(data["sentences"])
    assert list(sentences.columns) == ["caption", "video_id", "sen_id"]
    assert list(sentences["sen_id"]) == list(range(33 * 5))
    assert sentences.groupby("video_id").size().eq(5).all()
    first_caption = sentences.groupby("video_id")["caption"].first()
    for name in ("MSRVTT_train.9k.csv", "MSRVTT_train.7k.csv"):
        train = pd.read_csv(os.path.join(annotations, name))
        assert list(train.columns) == ["video_id"]
        assert list(train["video_id"]) == list(videos.loc[videos["split"] == "train", "video_id"])
    jsfusion = pd.read_csv(os.path.join(annotations, "MSRVTT_JSFUSION_test.csv"))
    assert list(jsfusion.columns) == ["key", "vid_key", "video_id", "sentence"]
    assert list(jsfusion["video_id"]) == list(videos.loc[videos["split"] == "test", "video_id"])
    assert list(jsfusion["key"]) == [f"ret{index}" for index in range(8)]
    assert list(jsfusion["vid_key"]) == [video_id.replace("video", "msr") for video_id in jsfusion["video_id"]]
    assert list(jsfusion["sentence"]) == list(first_caption[jsfusion["video_id"]])
    pairs = pd.read_csv(os.path.join(annotations, "order_contrast_pairs.csv"))
    assert list(pairs.columns) == ["video_id", "reversed_video_id"]
    split_of = dict(zip(videos["video_id"], videos["split"]))
    assert set(jsfusion["video_id"]) <= set(pairs["video_id"])
    assert all(split_of[a] == split_of[b] for a, b in zip(pairs["video_id"], pairs["reversed_video_id"]))
    assert len(pairs) == 22 + 2 + 8  # every video with a twin: 11 train pairs, 1 validate pair, 4 test pairs
    twin_of = dict(zip(pairs["video_id"], pairs["reversed_video_id"]))
    assert all(twin_of[twin] == video_id for video_id, twin in twin_of.items())
    sentence_of = dict(zip(jsfusion["video_id"], jsfusion["sentence"]))
    assert all(sentence_of[video_id] != sentence_of[twin] for video_id, twin in twin_of.items()
               if video_id in sentence_of)
    assert small_dataset["videos"] == {"train": 22, "validate": 3, "test": 8} and small_dataset["sentences"] == 165


def read_video(path):
    capture = cv2.VideoCapture(path)
    frame_count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame[:, :, ::-1])
    capture.release()
    return frame_count, np.array(frames)


def test_videos_decode_to_the_rendered_frames_and_twins_mirror(small_dataset):
    plan = small_plan()
    video = next(video for video in plan if video.split == "test")
    frame_count, frames = read_video(os.path.join(small_dataset["videos_dir"], video.video_id + ".mp4"))
    _, twin_frames = read_video(os.path.join(small_dataset["videos_dir"], video.twin_id + ".mp4"))
    frames_per_video = SMALL["seconds"] * SMALL["fps"]
    assert frame_count == frames_per_video and frames.shape == twin_frames.shape == (frames_per_video, 32, 32, 3)
    assert len(os.listdir(small_dataset["videos_dir"])) == 33
    rendered = render_clip(video.spec, SMALL["size"], SMALL["fps"]).astype(np.float32)
    assert np.abs(frames - rendered).mean() < 4
    one_per_second = frames[:: SMALL["fps"]].astype(np.float32)
    assert np.abs(twin_frames[:: SMALL["fps"]][::-1] - one_per_second).mean() < 4


def test_same_seed_gives_identical_files_and_another_seed_other_data(small_dataset, tmp_path):
    again = make_synthetic_dataset(str(tmp_path / "again"), seed=SEED, **SMALL)
    for name in os.listdir(small_dataset["annotations_dir"]):
        with open(os.path.join(small_dataset["annotations_dir"], name), "rb") as first, \
                open(os.path.join(again["annotations_dir"], name), "rb") as second:
            assert first.read() == second.read()
    first_spec, second_spec = small_plan()[0].spec, small_plan()[0].spec
    assert np.array_equal(render_clip(first_spec, 32, 2), render_clip(second_spec, 32, 2))
    assert small_plan(seed=SEED + 1) != small_plan()


def test_finished_dataset_is_reused_and_other_contents_refused(small_dataset, tmp_path):
    summary_path = os.path.join(small_dataset["output_dir"], generator.SUMMARY_FILE)
    written_at = os.stat(summary_path).st_mtime_ns
    reused = make_synthetic_dataset(small_dataset["output_dir"], seed=SEED, **SMALL)
    assert reused["reused"] and reused["videos"] == small_dataset["videos"]
    assert os.stat(summary_path).st_mtime_ns == written_at
    with pytest.raises(InputError, match="exists"):
        make_synthetic_dataset(small_dataset["output_dir"], seed=SEED + 1, **SMALL)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="exists"):
        make_synthetic_dataset(str(tmp_path / "other"), **SMALL)


def test_interrupted_run_leaves_nothing_that_looks_finished(tmp_path, monkeypatch):
    def fail(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(generator, "_write_annotations", fail)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_dataset(str(tmp_path / "data"), **SMALL)
    assert os.listdir(tmp_path) == []


def test_command_line_writes_the_dataset_and_rejects_bad_sizes(tmp_path, capsys):
    flags = [f"--{key}={value}" for key, value in SMALL.items()]
    assert main(["--output_dir", str(tmp_path / "data"), *flags]) == 0
    assert "22 train, 3 validate, 8 test videos (4 order-contrast pairs)" in capsys.readouterr().out
    assert main(["--output_dir", str(tmp_path / "odd"), *flags, "--size=33", "--train_videos=4"]) == 2
    error = capsys.readouterr().err
    assert "size must be an even" in error and "train_videos must be at least 22" in error
    assert not (tmp_path / "odd").exists()
