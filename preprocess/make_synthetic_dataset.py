"""Generate the project's embedded default dataset: synthetic shape clips in MSR-VTT's format.

Each clip shows one coloured shape (circle, square, triangle, diamond, cross) on a plain or
lightly textured grey background doing one thing whose time reversal has another caption:
"moves from left to right" / "moves from right to left", "moves up" / "moves down",
diagonals, "grows" / "shrinks", "appears" / "disappears", "turns from red to blue" /
"turns from blue to red", and composites such as "moves left and then up" / "moves down
and then right". Videos come in **twin pairs**: the twin's frames are the same frame
array written in reverse order, with its own correct caption. Every test video's twin is
in the test set (`order_contrast_pairs.csv` lists the pairs of every split), and train holds
twin pairs of every motion,
so only frame order tells a caption's video from its twin: a head that pools frames
without order (meanP) is at chance on the pairs, an order-aware head can learn them.

Time symmetry under frame extraction. A clip is `seconds` key states, each held for one
whole second (`fps` identical frames). Extraction at 1 fps (the project's default) takes
one frame inside every second (`dataloaders/video_timeline.py`: the middle of each
interval; any one-frame-per-second rule works), so it gets the key states 0..S-1 from a
video and exactly S-1..0 from its twin: reversing the video maps second k onto second
S-1-k. The loader then uses every frame when `seconds <= max_frames`, and otherwise the
middle frame of `max_frames` equal segments (`dataloaders/frame_sampling.py`), which is
symmetric under reversal whenever `seconds` is odd. Hence the default of 7 seconds: the
twins' model inputs are each other's reverse for any `max_frames` (up to lossy mp4
encoding), and a composite's corner is the middle key state of both twins.

Layout written under `output_dir` (built in a temporary sibling folder and renamed into
place at the end, so an interrupted run never looks finished):

    videos/video<N>.mp4                     mp4v, `size` x `size`, `fps`, seconds * fps frames
    annotations/MSRVTT_data.json            videos (train / validate / test) and `captions_per_video`
                                            sentences each; a test video's first is its JSFUSION one
    annotations/MSRVTT_train.9k.csv         train video ids (MSRVTT_train.7k.csv: the same)
    annotations/MSRVTT_JSFUSION_test.csv    one caption per test video (the 1k-A format)
    annotations/order_contrast_pairs.csv    video_id,reversed_video_id for every video with a twin (all
                                            splits): evaluation scores the test pairs, training can keep
                                            twins in one batch (main_task_retrieval.py --twin_batches)
    synthetic_dataset.json                  parameters and counts; written last

    python -m preprocess.make_synthetic_dataset --output_dir data/synthetic
"""
import argparse
import csv
import inspect
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, replace
from typing import Optional

import cv2
import numpy as np

from dataloaders.twin_pairs import TWIN_PAIRS_FILE
from modules.errors import InputError
from modules.progress import progress

GENERATOR_VERSION = 2
SUMMARY_FILE = "synthetic_dataset.json"
SPLITS = ("train", "validate", "test")
VIDEO_FOURCC = "mp4v"
DRAW_SHIFT = 4  # OpenCV draws at 1/16 pixel, so slow motion is smooth at small sizes

SHAPES = ("circle", "square", "triangle", "diamond", "cross")
COLOURS = {
    "red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 80, 230), "yellow": (235, 215, 40),
    "purple": (150, 60, 200), "orange": (245, 140, 30), "cyan": (40, 210, 220), "pink": (240, 110, 180),
}
# Polygon vertices for a shape of radius 1 centred on the origin (y points down).
UNIT_POLYGONS = {
    "square": ((-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)),
    "triangle": ((0.0, -1.1), (0.95, 0.55), (-0.95, 0.55)),
    "diamond": ((0.0, -1.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0)),
    "cross": ((-0.35, -1.0), (0.35, -1.0), (0.35, -0.35), (1.0, -0.35), (1.0, 0.35), (0.35, 0.35),
              (0.35, 1.0), (-0.35, 1.0), (-0.35, 0.35), (-1.0, 0.35), (-1.0, -0.35), (-0.35, -0.35)),
}

AXIS_OF = {"left": 0, "right": 0, "up": 1, "down": 1}
TOWARDS_HIGH = {"right", "down"}  # image coordinates: x grows to the right, y grows downwards
# Path motions: legs in order, each leg the directions it moves in at once.
PATH_LEGS = {
    "left_to_right": (("right",),), "right_to_left": (("left",),),
    "up": (("up",),), "down": (("down",),),
    "top_left_to_bottom_right": (("right", "down"),), "bottom_right_to_top_left": (("left", "up"),),
    "top_right_to_bottom_left": (("left", "down"),), "bottom_left_to_top_right": (("right", "up"),),
    **{f"{first}_then_{second}": ((first,), (second,))
       for first, second in (("left", "up"), ("down", "right"), ("left", "down"), ("up", "right"),
                             ("right", "up"), ("down", "left"), ("right", "down"), ("up", "left"))},
}
CHANGE_MOTIONS = ("grows", "appears", "colour_change")  # motions in place
COMPOSITE_TEMPLATES = ("moves {0} and then {1}", "first moves {0} and then {1}", "goes {0} and then {1}")
STRAIGHT_TEMPLATES = ("moves from {start} to {end}", "slides from the {start} to the {end}", "travels to the {end}")
DIAGONAL_TEMPLATES = ("moves from the {start} to the {end}", "slides diagonally {vertical} and {horizontal}",
                      "travels to the {end} corner")


def _journey_phrases(name):
    """Caption phrases for a motion named "<start>_to_<end>", e.g. "left_to_right", "top_left_to_bottom_right"."""
    start, end = (part.replace("_", " ") for part in name.split("_to_"))
    vertical, _, horizontal = end.rpartition(" ")
    templates = DIAGONAL_TEMPLATES if vertical else STRAIGHT_TEMPLATES
    return tuple(template.format(start=start, end=end, horizontal=horizontal,
                                 vertical={"top": "up", "bottom": "down"}.get(vertical))
                 for template in templates)


# Caption phrases per motion, the first one canonical (colour_change fills in {start} and {end} colour names).
MOTION_PHRASES = {
    **{name: _journey_phrases(name) for name in PATH_LEGS if "_to_" in name},
    **{name: tuple(template.format(*(leg[0] for leg in legs)) for template in COMPOSITE_TEMPLATES)
       for name, legs in PATH_LEGS.items() if len(legs) == 2},
    "up": ("moves up", "rises from the bottom to the top", "travels upwards"),
    "down": ("moves down", "falls from the top to the bottom", "travels downwards"),
    "grows": ("grows", "gets bigger", "expands"),
    "shrinks": ("shrinks", "gets smaller", "contracts"),
    "appears": ("appears", "fades in", "slowly becomes visible"),
    "disappears": ("disappears", "fades out", "slowly vanishes"),
    "colour_change": ("turns from {start} to {end}", "changes colour from {start} to {end}",
                      "goes from {start} to {end}"),
}
# Twin classes: a motion and the motion its time reversal shows (colour_change swaps colours).
TWIN_MOTIONS = (
    ("left_to_right", "right_to_left"), ("up", "down"),
    ("top_left_to_bottom_right", "bottom_right_to_top_left"), ("top_right_to_bottom_left", "bottom_left_to_top_right"),
    ("grows", "shrinks"), ("appears", "disappears"), ("colour_change", "colour_change"),
    ("left_then_up", "down_then_right"), ("left_then_down", "up_then_right"),
    ("right_then_up", "down_then_left"), ("right_then_down", "up_then_left"),
)
REVERSED_MOTION = {a: b for pair in TWIN_MOTIONS for a, b in (pair, pair[::-1])}
MOTION_CATEGORY = {motion: index for index, pair in enumerate(TWIN_MOTIONS) for motion in pair}
SUBJECT_TEMPLATES = ("{a} {subject} {phrase}", "the {subject} {phrase}", "there is {a} {subject} that {phrase}",
                     "{a} {subject} {phrase} on a {shade} background")
SIZE_SYNONYMS = {"small": ("small", "little"), "large": ("large", "big"), "": ("",)}


@dataclass(frozen=True)
class ShapeState:
    """The shape during one second: centre and radius as fractions of the frame side, RGB, opacity."""
    x: float
    y: float
    radius: float
    rgb: tuple
    opacity: float


@dataclass(frozen=True)
class ClipSpec:
    """Everything needed to render and caption one clip; `states` holds one ShapeState per second."""
    shape: str
    motion: str
    colours: tuple  # colour names in the first and the last second (equal unless colour_change)
    size_word: str  # "small", "large" or "" (size not named, e.g. when the motion changes it)
    background_level: int
    background_texture: float  # amplitude of the static background texture; 0 = plain
    texture_seed: int
    states: tuple

    def reversed(self) -> "ClipSpec":
        """The time-reversed twin: the same states backwards, the reversed motion's caption."""
        return replace(self, motion=REVERSED_MOTION[self.motion], colours=self.colours[::-1],
                       states=self.states[::-1])


@dataclass(frozen=True)
class PlannedVideo:
    """One video of the dataset: id, split, what it shows, its captions and its twin's id (or None)."""
    video_id: str
    split: str
    spec: ClipSpec
    captions: tuple
    twin_id: Optional[str]


def _interpolate(start, end, steps):
    """`steps + 1` evenly spaced values from start to end, both included."""
    return [start + (end - start) * k / steps for k in range(steps + 1)]


def _path_positions(rng, legs, seconds, margin):
    """Per-second (x, y) centres along `legs`: each moving axis crosses a random span; a corner is a key state."""
    fixed = [float(rng.uniform(margin, 1.0 - margin)) for _ in range(2)]
    start, end = list(fixed), list(fixed)
    for direction in (direction for leg in legs for direction in leg):
        axis = AXIS_OF[direction]
        low, high = float(rng.uniform(margin, 0.4)), float(rng.uniform(0.6, 1.0 - margin))
        start[axis], end[axis] = (low, high) if direction in TOWARDS_HIGH else (high, low)
    waypoints = [tuple(start)]
    for leg in legs:
        point = list(waypoints[-1])
        for direction in leg:
            point[AXIS_OF[direction]] = end[AXIS_OF[direction]]
        waypoints.append(tuple(point))
    boundaries = [(index * (seconds - 1)) // len(legs) for index in range(len(legs) + 1)]
    positions = [waypoints[0]]
    for leg_index in range(len(legs)):
        steps = boundaries[leg_index + 1] - boundaries[leg_index]
        xs, ys = (_interpolate(waypoints[leg_index][axis], waypoints[leg_index + 1][axis], steps) for axis in (0, 1))
        positions += list(zip(xs, ys))[1:]
    return positions


def sample_clip_spec(rng: np.random.Generator, motion: str, seconds: int) -> ClipSpec:
    """Draw a random shape, colour, size, background and path showing `motion` over `seconds` key states.

    `motion` is a path motion or one of CHANGE_MOTIONS; shrinks/disappears are their `.reversed()`.
    """
    if motion not in PATH_LEGS and motion not in CHANGE_MOTIONS:
        raise ValueError(f"cannot sample motion {motion!r}; sample its reverse and call .reversed()")
    shape = SHAPES[rng.integers(len(SHAPES))]
    colour_names = list(COLOURS)
    start_colour = colour_names[rng.integers(len(colour_names))]
    end_colour = start_colour
    if motion == "colour_change":
        others = [name for name in colour_names if name != start_colour]
        end_colour = others[rng.integers(len(others))]
    radius = float(rng.uniform(0.08, 0.16))
    size_word = "small" if radius < 0.105 else "large" if radius > 0.135 else ""
    radii, opacities = [radius] * seconds, [1.0] * seconds
    if motion in PATH_LEGS:
        positions = _path_positions(rng, PATH_LEGS[motion], seconds, margin=radius + 0.04)
    else:
        if motion == "grows":
            radii = _interpolate(float(rng.uniform(0.05, 0.07)), float(rng.uniform(0.17, 0.22)), seconds - 1)
            size_word = ""
        if motion == "appears":
            opacities = _interpolate(0.0, 1.0, seconds - 1)
        margin = max(radii) + 0.04
        positions = [(float(rng.uniform(margin, 1.0 - margin)), float(rng.uniform(margin, 1.0 - margin)))] * seconds
    rgbs = list(zip(*(_interpolate(float(a), float(b), seconds - 1)
                      for a, b in zip(COLOURS[start_colour], COLOURS[end_colour]))))
    dark = rng.random() < 0.5
    background_level = int(rng.integers(25, 90) if dark else rng.integers(150, 215))
    background_texture = float(rng.uniform(4.0, 12.0)) if rng.random() < 0.5 else 0.0
    states = tuple(ShapeState(x, y, r, rgb, opacity)
                   for (x, y), r, rgb, opacity in zip(positions, radii, rgbs, opacities))
    return ClipSpec(shape, motion, (start_colour, end_colour), size_word, background_level, background_texture,
                    int(rng.integers(2 ** 31)), states)


def _background(spec: ClipSpec, size: int) -> np.ndarray:
    """The clip's static background, float32 [size, size, 3]: a grey level plus an optional smooth texture."""
    plane = np.full((size, size), float(spec.background_level), np.float32)
    if spec.background_texture:
        coarse = np.random.default_rng(spec.texture_seed).standard_normal((8, 8)).astype(np.float32)
        plane += spec.background_texture * cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.repeat(plane[:, :, None], 3, axis=2)


def _shape_coverage(shape: str, state: ShapeState, size: int) -> np.ndarray:
    """Anti-aliased coverage of the shape in [0, 1], float32 [size, size], drawn with sub-pixel precision."""
    canvas = np.zeros((size, size), np.uint8)
    centre, radius = np.array([state.x, state.y]) * size, state.radius * size
    subpixel = 2 ** DRAW_SHIFT
    if shape == "circle":
        cv2.circle(canvas, tuple(int(v) for v in np.rint(centre * subpixel)), int(round(radius * subpixel)), 255,
                   cv2.FILLED, cv2.LINE_AA, DRAW_SHIFT)
    else:
        points = np.rint((np.array(UNIT_POLYGONS[shape]) * radius + centre) * subpixel).astype(np.int32)
        cv2.fillPoly(canvas, [points], 255, cv2.LINE_AA, DRAW_SHIFT)
    return canvas.astype(np.float32) / 255.0


def render_key_frames(spec: ClipSpec, size: int) -> np.ndarray:
    """One RGB frame per second of the clip, uint8 [seconds, size, size, 3]."""
    background = _background(spec, size)
    frames = np.empty((len(spec.states), size, size, 3), np.uint8)
    for index, state in enumerate(spec.states):
        alpha = _shape_coverage(spec.shape, state, size)[:, :, None] * state.opacity
        blended = background + alpha * (np.asarray(state.rgb, np.float32) - background)
        frames[index] = np.clip(np.rint(blended), 0, 255)
    return frames


def render_clip(spec: ClipSpec, size: int, fps: int) -> np.ndarray:
    """All RGB frames of the video, uint8 [seconds * fps, size, size, 3]: each key frame held for one second."""
    return np.repeat(render_key_frames(spec, size), fps, axis=0)


def caption_variants(spec: ClipSpec) -> tuple:
    """Every caption the templates give for `spec`, the canonical one ("a small red circle moves up") first."""
    colour = "" if spec.motion == "colour_change" else spec.colours[0]
    shade = "dark" if spec.background_level < 128 else "light"
    phrases = [phrase.format(start=spec.colours[0], end=spec.colours[1]) for phrase in MOTION_PHRASES[spec.motion]]
    size_words = SIZE_SYNONYMS[spec.size_word] + (("",) if spec.size_word else ())
    variants = []
    for size_word in size_words:
        subject = " ".join(word for word in (size_word, colour, spec.shape) if word)
        article = "an" if subject[0] in "aeiou" else "a"
        for template in SUBJECT_TEMPLATES:
            variants += [template.format(a=article, subject=subject, phrase=phrase, shade=shade) for phrase in phrases]
    return tuple(variants)


def _pick_captions(rng, variants, count, canonical_first):
    """`count` captions from `variants` in random order (repeating only if too few); canonical first if asked."""
    head, pool = (variants[:1], variants[1:]) if canonical_first else ((), variants)
    order = rng.permutation(len(pool))
    return head + tuple(pool[order[index % len(pool)]] for index in range(count - len(head)))


def _sample_split_specs(rng, count, seconds):
    """`count` specs in twin pairs cycling through TWIN_MOTIONS (one unpaired if odd), and each one's twin index."""
    motion_classes = np.resize(rng.permutation(len(TWIN_MOTIONS)), count // 2 + count % 2)
    specs, twin_indices = [], []
    for motion_class in motion_classes[: count // 2]:
        spec = sample_clip_spec(rng, TWIN_MOTIONS[motion_class][0], seconds)
        specs += [spec, spec.reversed()]
        twin_indices += [len(specs) - 1, len(specs) - 2]
    if count % 2:
        spec = sample_clip_spec(rng, TWIN_MOTIONS[motion_classes[-1]][0], seconds)
        specs.append(spec.reversed() if rng.random() < 0.5 else spec)
        twin_indices.append(None)
    return specs, twin_indices


def video_number(video_id: str) -> int:
    """The N of "videoN"."""
    return int(video_id[len("video"):])


def plan_dataset(train_videos: int, val_videos: int, test_pairs: int, captions_per_video: int, seconds: int,
                 seed: int) -> list:
    """Decide every video (id, split, spec, captions, twin) without rendering; ordered by video number.

    Ids run train, then validate, then test, as in MSR-VTT, shuffled within a split so twins are rarely neighbours.
    """
    rng = np.random.default_rng(seed)
    planned, first_number = [], 0
    for split, count in (("train", train_videos), ("validate", val_videos), ("test", 2 * test_pairs)):
        specs, twin_indices = _sample_split_specs(rng, count, seconds)
        ids = [f"video{first_number + int(slot)}" for slot in rng.permutation(count)]
        for video_id, spec, twin_index in zip(ids, specs, twin_indices):
            captions = _pick_captions(rng, caption_variants(spec), captions_per_video, canonical_first=split == "test")
            twin_id = None if twin_index is None else ids[twin_index]
            planned.append(PlannedVideo(video_id, split, spec, captions, twin_id))
        first_number += count
    return sorted(planned, key=lambda video: video_number(video.video_id))


def _write_video(path: str, frames: np.ndarray, fps: int) -> None:
    """Encode RGB `frames` [T, H, W, 3] as an mp4 file."""
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*VIDEO_FOURCC), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {VIDEO_FOURCC} video to {path}")
    for frame in frames:
        writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
    writer.release()


def _write_videos(videos_dir: str, plan: list, size: int, fps: int) -> None:
    """Render each clip once and write it, and its twin as the same frames reversed."""
    with progress(desc="synthetic videos", total=len(plan), unit="video") as bar:
        for video in plan:
            if video.twin_id is not None and video_number(video.twin_id) < video_number(video.video_id):
                continue
            frames = render_clip(video.spec, size, fps)
            _write_video(os.path.join(videos_dir, video.video_id + ".mp4"), frames, fps)
            if video.twin_id is not None:
                _write_video(os.path.join(videos_dir, video.twin_id + ".mp4"), frames[::-1], fps)
            bar.update(1 if video.twin_id is None else 2)


def _write_csv(path: str, header: list, rows: list) -> None:
    """Write a comma-separated file with a header row and Unix line ends (quoting only where needed)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_annotations(annotations_dir: str, plan: list, seconds: int) -> None:
    """Write MSR-VTT's annotation files and the time-reversed twin pairs of every split for `plan`."""
    videos = [{"video_id": video.video_id, "category": MOTION_CATEGORY[video.spec.motion],
               "url": f"synthetic://{video.video_id}", "start time": 0.0, "end time": float(seconds),
               "split": video.split, "id": video_number(video.video_id)} for video in plan]
    sentences = [{"caption": caption, "video_id": video.video_id}
                 for video in plan for caption in video.captions]
    for sen_id, sentence in enumerate(sentences):
        sentence["sen_id"] = sen_id
    with open(os.path.join(annotations_dir, "MSRVTT_data.json"), "w", encoding="utf-8") as handle:
        json.dump({"videos": videos, "sentences": sentences}, handle)
    train_rows = [[video.video_id] for video in plan if video.split == "train"]
    for name in ("MSRVTT_train.9k.csv", "MSRVTT_train.7k.csv"):
        _write_csv(os.path.join(annotations_dir, name), ["video_id"], train_rows)
    test = [video for video in plan if video.split == "test"]
    _write_csv(os.path.join(annotations_dir, "MSRVTT_JSFUSION_test.csv"), ["key", "vid_key", "video_id", "sentence"],
               [[f"ret{index}", f"msr{video_number(video.video_id)}", video.video_id, video.captions[0]]
                for index, video in enumerate(test)])
    _write_csv(os.path.join(annotations_dir, TWIN_PAIRS_FILE), ["video_id", "reversed_video_id"],
               [[video.video_id, video.twin_id] for video in plan if video.twin_id is not None])


def _check_parameters(train_videos, val_videos, test_pairs, captions_per_video, size, seconds, fps):
    """Raise InputError listing every parameter the generator cannot honour."""
    problems = []
    if train_videos < 2 * len(TWIN_MOTIONS):
        problems.append(f"train_videos must be at least {2 * len(TWIN_MOTIONS)} (a twin pair of every motion)")
    if val_videos < 0 or test_pairs < 1 or captions_per_video < 1 or fps < 1:
        problems.append("val_videos must be >= 0 and test_pairs, captions_per_video, fps >= 1")
    if size < 16 or size % 2:
        problems.append("size must be an even number of pixels >= 16 (mp4v needs even frame sides)")
    if seconds < 3:
        problems.append("seconds must be >= 3 (a composite motion needs a start, a corner and an end)")
    if problems:
        raise InputError("; ".join(problems))


def _read_finished_summary(output_dir: str) -> Optional[dict]:
    """The summary of a finished dataset in `output_dir`, or None (its presence marks a completed run)."""
    path = os.path.join(output_dir, SUMMARY_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def make_synthetic_dataset(output_dir: str, train_videos: int = 400, val_videos: int = 40, test_pairs: int = 50,
                           captions_per_video: int = 10, size: int = 64, seconds: int = 7, fps: int = 4,
                           seed: int = 0) -> dict:
    """Generate the dataset under `output_dir` (or reuse it if already generated with these parameters).

    Returns the summary (parameters, videos per split, caption count, frames per video, pairs) plus
    `output_dir`, `videos_dir`, `annotations_dir` and `reused`. Raises InputError for bad sizes or
    an `output_dir` that holds something else.
    """
    _check_parameters(train_videos, val_videos, test_pairs, captions_per_video, size, seconds, fps)
    parameters = {"generator_version": GENERATOR_VERSION, "train_videos": train_videos, "val_videos": val_videos,
                  "test_pairs": test_pairs, "captions_per_video": captions_per_video, "size": size,
                  "seconds": seconds, "fps": fps, "seed": seed}
    paths = {"output_dir": output_dir, "videos_dir": os.path.join(output_dir, "videos"),
             "annotations_dir": os.path.join(output_dir, "annotations")}
    existing = _read_finished_summary(output_dir)
    if existing is not None and existing["parameters"] == parameters:
        return {**existing, **paths, "reused": True}
    if os.path.exists(output_dir) and (not os.path.isdir(output_dir) or os.listdir(output_dir)):
        raise InputError(f"{output_dir} exists and is not a synthetic dataset made with these parameters; "
                         "remove it or choose another --output_dir")
    absolute = os.path.abspath(output_dir)
    os.makedirs(os.path.dirname(absolute), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(absolute)}.partial-", dir=os.path.dirname(absolute))
    try:
        os.chmod(staging, 0o755)
        plan = plan_dataset(train_videos, val_videos, test_pairs, captions_per_video, seconds, seed)
        for folder in ("videos", "annotations"):
            os.mkdir(os.path.join(staging, folder))
        _write_videos(os.path.join(staging, "videos"), plan, size, fps)
        _write_annotations(os.path.join(staging, "annotations"), plan, seconds)
        summary = {"parameters": parameters,
                   "videos": {split: sum(video.split == split for video in plan) for split in SPLITS},
                   "sentences": sum(len(video.captions) for video in plan),
                   "frames_per_video": seconds * fps, "order_contrast_pairs": test_pairs}
        with open(os.path.join(staging, SUMMARY_FILE), "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=1)
        os.replace(staging, absolute)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {**summary, **paths, "reused": False}


def main(argv=None) -> int:
    """Command line: generate (or find) the dataset and print one summary line; bad input exits with 2."""
    defaults = inspect.signature(make_synthetic_dataset).parameters
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", required=True, help="dataset folder (created; reused if already generated)")
    for flag, meaning in (("train_videos", "train videos (twin pairs of every motion)"),
                          ("val_videos", "validate-split videos"),
                          ("test_pairs", "test twin pairs (twice as many test videos)"),
                          ("captions_per_video", "captions per video in MSRVTT_data.json"),
                          ("size", "frame side in pixels (even)"),
                          ("seconds", "clip length = key states (odd keeps frame sampling symmetric)"),
                          ("fps", "video frame rate (each key state is held for one second)"),
                          ("seed", "random seed; the same seed gives the same dataset")):
        default = defaults[flag].default
        parser.add_argument(f"--{flag}", type=int, default=default, help=f"{meaning} (default {default})")
    args = vars(parser.parse_args(argv))
    try:
        summary = make_synthetic_dataset(**args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    videos = summary["videos"]
    print(f"synthetic dataset {'already at' if summary['reused'] else 'written to'} {summary['output_dir']}: "
          f"{videos['train']} train, {videos['validate']} validate, {videos['test']} test videos "
          f"({summary['order_contrast_pairs']} order-contrast pairs), {summary['sentences']} captions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
