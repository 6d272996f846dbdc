"""The synthetic dataset: twins are exact reversals / event swaps of the same frames, captions say
what the frames show, every evaluation caption has one ground truth, files in MSR-VTT's format."""
import json
import os
import re

import cv2
import numpy as np
import pandas as pd
import pytest

import preprocess.make_synthetic_dataset as generator
from modules.errors import InputError
from modules.tokenizer import CaptionTokenizer
from preprocess.make_synthetic_dataset import main, make_synthetic_dataset
from preprocess.synthetic.captions import one_event_captions, sequence_captions
from preprocess.synthetic.events import MOTIONS, sample_event
from preprocess.synthetic.plan import plan_dataset
from preprocess.synthetic.shapes import COLOURS, SHAPES, Background
from preprocess.synthetic.videos import VideoSpec

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = {"train_videos": 20, "val_videos": 6, "test_videos": 10, "captions_per_video": 4, "size": 32,
         "event_seconds": 3, "fps": 2}
SEED = 3
# Written out here, not taken from the generator: what each phrase means.
PHRASE_MOTION = {
    "moves left": "left", "slides to the left": "left", "travels left": "left",
    "moves right": "right", "slides to the right": "right", "travels right": "right",
    "moves up": "up", "rises": "up", "travels upwards": "up",
    "moves down": "down", "falls": "down", "travels downwards": "down",
    "grows": "grows", "gets bigger": "grows", "expands": "grows",
    "shrinks": "shrinks", "gets smaller": "shrinks", "contracts": "shrinks",
}
CLAUSE = re.compile(rf"^an? ({'|'.join(COLOURS)}) ({'|'.join(SHAPES)}) ({'|'.join(PHRASE_MOTION)})$")
# Motion -> (axis of the centre: 0 = x, 1 = y pointing down, or "area"; sign of the change).
CHANGE = {"left": (0, -1), "right": (0, 1), "up": (1, -1), "down": (1, 1), "grows": ("area", 1), "shrinks": ("area", -1)}


def parse_caption(caption):
    """[(colour, shape, motion)] in the order the caption states them."""
    text = re.sub(r"^(first |at some point |in one part of the video )", "", caption)
    clauses = re.split(r", then |, and finally | and then ", text)
    parsed = [CLAUSE.match(clause) for clause in clauses]
    assert all(parsed), caption
    return [(match[1], match[2], PHRASE_MOTION[match[3]]) for match in parsed]


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    return make_synthetic_dataset(str(tmp_path_factory.mktemp("synthetic") / "data"), seed=SEED, **SMALL)


def small_plan(seed=SEED):
    return plan_dataset(SMALL["train_videos"], SMALL["val_videos"], SMALL["test_videos"],
                        SMALL["captions_per_video"], SMALL["event_seconds"], (2, 3), 0.25, seed)


def three_event_spec(seconds=3):
    rng = np.random.default_rng(0)
    events = tuple(sample_event(rng, shape, colour, motion, seconds)
                   for shape, colour, motion in (("circle", "red", "grows"), ("square", "blue", "left"),
                                                 ("cross", "yellow", "down")))
    return VideoSpec(Background(60, 8.0, 5), events)


def shape_track(frames):
    """Per frame: centre (x, y) in pixels, area and mean colour of the shape (the saturated pixels)."""
    track = []
    for frame in frames.astype(np.float32):
        saturation = frame.max(axis=2) - frame.min(axis=2)
        ys, xs = np.nonzero(saturation > 40)
        core = saturation >= 0.9 * saturation.max()
        track.append(((xs.mean(), ys.mean()), len(xs), frame[core].mean(axis=0)))
    return track


def nearest_colour(rgb):
    return min(COLOURS, key=lambda name: np.linalg.norm(np.subtract(COLOURS[name], rgb)))


def assert_block_shows(frames, description):
    """The frames of one event show its colour and its motion (and nothing moves on the other axis)."""
    colour, _, motion = description
    track = shape_track(frames)
    (first_centre, first_area, first_rgb), (last_centre, last_area, _) = track[0], track[-1]
    assert nearest_colour(first_rgb) == colour
    axis, sign = CHANGE[motion]
    size = frames.shape[1]
    if axis == "area":
        assert np.sign(last_area - first_area) == sign and abs(last_area - first_area) > 0.02 * size ** 2
        assert np.abs(np.subtract(first_centre, last_centre)).max() < 1.0
    else:
        assert np.sign(last_centre[axis] - first_centre[axis]) == sign
        assert abs(last_centre[axis] - first_centre[axis]) > 0.2 * size
        assert abs(last_centre[1 - axis] - first_centre[1 - axis]) < 1.0


def assert_frames_match_sequence(key_frames, descriptions, seconds):
    assert len(key_frames) == seconds * len(descriptions)
    for index, description in enumerate(descriptions):
        assert_block_shows(key_frames[index * seconds:(index + 1) * seconds], description)


def test_twins_are_the_same_frames_reversed_and_event_swapped():
    spec = three_event_spec()
    frames = spec.render(32, 2)
    assert frames.dtype == np.uint8 and frames.shape == (9 * 2, 32, 32, 3)
    assert np.array_equal(frames[0::2], frames[1::2])  # each key state held for a whole second
    assert np.array_equal(spec.reversed().render(32, 2), frames[::-1])
    blocks = [frames[0:6], frames[6:12], frames[12:18]]
    assert np.array_equal(spec.swapped().render(32, 2), np.concatenate(blocks[::-1]))
    assert np.array_equal(spec.events_reversed().render(32, 2), np.concatenate([b[::-1] for b in blocks]))
    assert spec.reversed().reversed() == spec and spec.swapped().swapped() == spec
    assert spec.events_reversed() == spec.swapped().reversed() == spec.reversed().swapped()


def test_frames_show_what_the_canonical_caption_says_for_every_motion_and_twin():
    rng = np.random.default_rng(1)
    for motion in MOTIONS:
        for colour in COLOURS:
            events = (sample_event(rng, "square", colour, motion, 3),
                      sample_event(rng, "circle", "green" if colour != "green" else "red", "up", 3))
            spec = VideoSpec(Background(180, 0.0, 0), events)
            for twin in (spec, spec.reversed(), spec.swapped(), spec.events_reversed()):
                descriptions = [event.description for event in twin.events]
                assert parse_caption(sequence_captions(descriptions)[0]) == descriptions
                assert_frames_match_sequence(twin.render_key_frames(64), descriptions, 3)


def test_caption_variants_of_twins_never_coincide():
    spec = three_event_spec()
    captions = [set(sequence_captions([e.description for e in twin.events]))
                for twin in (spec, spec.reversed(), spec.swapped(), spec.events_reversed())]
    assert all(a.isdisjoint(b) for i, a in enumerate(captions) for b in captions[i + 1:])
    ones = [set(one_event_captions(e.description)) for e in spec.events + spec.reversed().events]
    assert all(a.isdisjoint(b) for i, a in enumerate(ones) for b in ones[i + 1:])


def test_every_caption_names_its_own_events_and_evaluation_captions_have_one_ground_truth():
    plan = small_plan()
    for split in ("train", "validate", "test"):
        videos = [video for video in plan if video.split == split]
        for video in videos:
            events = [event.description for event in video.spec.events]
            assert len(video.captions) == SMALL["captions_per_video"]
            for caption, kind, event in video.captions:
                stated = parse_caption(caption)
                assert kind == ("sequence" if len(stated) > 1 else "one_event"), caption
                assert stated == events if kind == "sequence" else stated == [events[event]]
                if split != "train":  # no other video of the split matches it
                    matches = [other.video_id for other in videos
                               if (stated == [e.description for e in other.spec.events] if kind == "sequence"
                                   else stated[0] in [e.description for e in other.spec.events])]
                    assert matches == [video.video_id], caption
        kinds = {kind for video in videos for _, kind, _ in video.captions}
        assert kinds == ({"sequence"} if split == "train" else {"one_event", "sequence"}), split  # train: all quads


def test_families_hold_the_twins_each_split_needs():
    plan = small_plan()
    by_id = {video.video_id: video for video in plan}
    transform = {"reversed": VideoSpec.reversed, "swapped": VideoSpec.swapped,
                 "events_reversed": VideoSpec.events_reversed}
    for video in plan:
        # evaluation splits: every video with its time-reversed twin; train: with its events-reversed twin
        assert ("reversed" if video.split != "train" else "events_reversed") in video.twins
        for relation, twin_id in video.twins.items():
            twin = by_id[twin_id]
            assert twin.split == video.split and twin.twins[relation] == video.video_id
            assert twin.spec == transform[relation](video.spec)
        if "swapped" in video.twins:  # a quad: one-event captions would match the swap too, so there are none
            assert set(video.twins) == set(transform) and {kind for _, kind, _ in video.captions} == {"sequence"}
    test = [video for video in plan if video.split == "test"]
    assert [len(video.twins) for video in test].count(3) == 4  # families 2, 2, 2, 4
    assert test[0].captions[0] == (sequence_captions([e.description for e in test[0].spec.events])[0], "sequence", None)


def test_annotation_files_have_msrvtt_columns_and_agree(small_dataset):
    annotations = small_dataset["annotations_dir"]
    with open(os.path.join(annotations, "MSRVTT_data.json")) as handle:
        data = json.load(handle)
    videos = pd.DataFrame(data["videos"])
    assert list(videos.columns) == ["video_id", "category", "url", "start time", "end time", "split", "id"]
    assert videos["split"].value_counts().to_dict() == {"train": 20, "test": 10, "validate": 6}
    assert list(videos["video_id"]) == [f"video{number}" for number in range(36)]
    sentences = pd.DataFrame(data["sentences"])
    assert list(sentences.columns) == ["caption", "video_id", "sen_id"]
    assert list(sentences["sen_id"]) == list(range(36 * 4))
    for name in ("MSRVTT_train.9k.csv", "MSRVTT_train.7k.csv"):
        train = pd.read_csv(os.path.join(annotations, name))
        assert list(train["video_id"]) == list(videos.loc[videos["split"] == "train", "video_id"])
    jsfusion = pd.read_csv(os.path.join(annotations, "MSRVTT_JSFUSION_test.csv"))
    assert list(jsfusion.columns) == ["key", "vid_key", "video_id", "sentence"]
    assert list(jsfusion["video_id"]) == list(videos.loc[videos["split"] == "test", "video_id"])
    first_caption = sentences.groupby("video_id")["caption"].first()
    assert list(jsfusion["sentence"]) == list(first_caption[jsfusion["video_id"]])
    split_of = dict(zip(videos["video_id"], videos["split"]))
    for name, column in (("order_contrast_pairs.csv", "reversed_video_id"), ("event_swap_pairs.csv", "swapped_video_id"),
                         ("event_reversal_pairs.csv", "events_reversed_video_id")):
        pairs = pd.read_csv(os.path.join(annotations, name))
        assert list(pairs.columns) == ["video_id", column]
        partner = dict(zip(pairs["video_id"], pairs[column]))
        assert all(partner[b] == a and split_of[a] == split_of[b] for a, b in partner.items())
    kinds = pd.read_csv(os.path.join(annotations, "caption_kinds.csv"))
    assert list(kinds.columns) == ["video_id", "caption", "kind", "event"]
    listed = {(row.video_id, row.caption): row.kind for row in kinds.itertuples()}
    assert set(listed) == set(zip(sentences["video_id"], sentences["caption"]))
    assert all((kind == "sequence") == (len(parse_caption(caption)) > 1) for (_, caption), kind in listed.items())
    assert kinds["event"].eq(-1).equals(kinds["kind"] == "sequence")
    assert small_dataset["splits"]["test"]["captions"] == dict(pd.Series(
        [listed[v, c] for v, c in zip(sentences["video_id"], sentences["caption"]) if split_of[v] == "test"]
    ).value_counts().sort_index())


def read_video(path):
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame[:, :, ::-1])
    capture.release()
    return np.array(frames)


def test_videos_decode_to_the_rendered_frames_and_twins_decode_identically(small_dataset):
    plan = small_plan()
    video = next(video for video in plan if video.split == "test" and "swapped" in video.twins)
    path = os.path.join(small_dataset["videos_dir"], "{}.avi")
    frames, reversed_frames, swapped_frames, events_reversed_frames = (
        read_video(path.format(video_id)) for video_id in (video.video_id, *(video.twins[relation] for relation in (
            "reversed", "swapped", "events_reversed"))))
    assert frames.shape == (len(video.spec.events) * 3 * 2, 32, 32, 3)
    assert np.abs(frames - video.spec.render(32, 2).astype(np.float32)).mean() < 4
    assert np.array_equal(reversed_frames, frames[::-1])  # exact: every frame is coded on its own (MJPG)
    blocks = np.split(frames, len(video.spec.events))
    assert np.array_equal(swapped_frames, np.concatenate(blocks[::-1]))
    assert np.array_equal(events_reversed_frames, np.concatenate([block[::-1] for block in blocks]))
    assert len(os.listdir(small_dataset["videos_dir"])) == 36


def test_same_seed_gives_identical_files_and_another_seed_other_data(small_dataset, tmp_path):
    again = make_synthetic_dataset(str(tmp_path / "again"), seed=SEED, **SMALL)
    for name in os.listdir(small_dataset["annotations_dir"]):
        with open(os.path.join(small_dataset["annotations_dir"], name), "rb") as first, \
                open(os.path.join(again["annotations_dir"], name), "rb") as second:
            assert first.read() == second.read()
    assert small_plan(seed=SEED + 1) != small_plan()


def test_finished_dataset_is_reused_and_other_contents_refused(small_dataset, tmp_path):
    summary_path = os.path.join(small_dataset["output_dir"], generator.SUMMARY_FILE)
    written_at = os.stat(summary_path).st_mtime_ns
    reused = make_synthetic_dataset(small_dataset["output_dir"], seed=SEED, **SMALL)
    assert reused["reused"] and reused["splits"] == small_dataset["splits"]
    assert os.stat(summary_path).st_mtime_ns == written_at
    with pytest.raises(InputError, match="exists"):
        make_synthetic_dataset(small_dataset["output_dir"], seed=SEED + 1, **SMALL)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="exists"):
        make_synthetic_dataset(str(tmp_path / "other"), **SMALL)


def test_the_dataset_folder_respects_the_umask(tmp_path):
    previous = os.umask(0o002)  # a group-shared folder
    try:
        data = make_synthetic_dataset(str(tmp_path / "data"), **SMALL)
    finally:
        os.umask(previous)
    assert os.stat(data["output_dir"]).st_mode & 0o777 == 0o775


def test_interrupted_run_leaves_nothing_that_looks_finished(tmp_path, monkeypatch):
    def fail(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(generator, "write_annotations", fail)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_dataset(str(tmp_path / "data"), **SMALL)
    assert os.listdir(tmp_path) == []


def test_command_line_writes_the_dataset_and_rejects_bad_sizes(tmp_path, capsys):
    flags = [f"--{key}={value}" for key, value in SMALL.items()]
    assert main(["--output_dir", str(tmp_path / "data"), *flags, "--swap_share=1"]) == 0  # families 4, 4, 2
    out = capsys.readouterr().out
    assert "test 10 videos (with a twin: reversed 10, swapped 8, events-reversed 8; captions " in out
    assert main(["--output_dir", str(tmp_path / "odd"), *flags, "--size=33", "--min_events=1"]) == 2
    error = capsys.readouterr().err
    assert "size must be an even" in error and "min_events must be >= 2" in error
    assert not (tmp_path / "odd").exists()


def test_the_demo_max_words_holds_the_longest_caption():
    with open(os.path.join(REPO, "scripts", "demo.sh")) as handle:
        max_words = int(re.search(r"--max_words (\d+)", handle.read())[1])
    tokenizer = CaptionTokenizer(77)
    longest_object = max(((colour, shape) for colour in COLOURS for shape in SHAPES),
                         key=lambda obj: len(tokenizer([f"an {obj[0]} {obj[1]}"]).tokens.nonzero()))
    longest_motion = max(MOTIONS, key=lambda motion: int(tokenizer(one_event_captions(
        (*longest_object, motion))).mask.sum(1).max()))
    captions = sequence_captions([(*longest_object, longest_motion)] * 3)
    assert int(tokenizer(captions).mask.sum(1).max()) == max_words  # no shorter context holds them all
