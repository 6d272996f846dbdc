"""Generate the project's embedded default dataset: multi-event shape videos in MSR-VTT's format.

Each video shows two or three short events one after the other, each a coloured shape (circle,
square, triangle, diamond, cross; 8 colours) doing one thing for `event_seconds` key states:
moving left, right, up or down, growing or shrinking. Captions are of two kinds: the whole
sequence in order ("a red circle grows, then a blue square moves left") and one event only
("at some point a blue square moves left"). Videos come in families with the same frames
in another order (`preprocess/synthetic/videos.py`): the time-reversed twin ("a blue square
moves right, then a red circle shrinks"), the event-swapped twin ("a blue square moves left,
then a red circle grows") and the events-reversed twin ("a red circle shrinks, then a blue
square moves right"). In the evaluation splits every video has its time-reversed twin, and
one family in `1 / swap_share` holds all four; in train every family holds all four, so train
has sequence captions only (why: `preprocess/synthetic/plan.py`). Twins of every video are in its split. So
only frame order tells a caption's video from its twins: a head that pools frames without
order (meanP) is at chance on them, an order-aware head can learn them; and a one-event
caption describes a third or a half of its video's frames, which is what text-conditioned
attention over frames is for. How each caption's ground truth is kept unique:
`preprocess/synthetic/plan.py`. The pieces: `preprocess/synthetic/`.

Twins hold exactly the same frames. A video is its key states, each held for one whole second
(`fps` identical frames), written with an intra-frame codec (Motion-JPEG, `.avi`), so a frame
decodes the same wherever it sits. Extraction at 1 fps (the project's default) takes one frame
inside every second (`dataloaders/video_timeline.py`), so it gets exactly the key states; the
loader takes every frame when there are at most `max_frames` (the demo: 3 events x 3 s = 9 =
`--max_frames`), so the model inputs of twins are each other's reversal or event swap.

Layout written under `output_dir` (built in a temporary sibling folder and renamed into place
at the end, so an interrupted run never looks finished):

    videos/video<N>.avi                     MJPG, `size` x `size`, `fps`, events * event_seconds * fps frames
    annotations/MSRVTT_data.json            videos (train / validate / test) and `captions_per_video`
                                            sentences each; a test video's first is its canonical
                                            sequence caption, its JSFUSION one
    annotations/MSRVTT_train.9k.csv         train video ids (MSRVTT_train.7k.csv: the same)
    annotations/MSRVTT_JSFUSION_test.csv    one caption per test video (the 1k-A format)
    annotations/order_contrast_pairs.csv    video_id,reversed_video_id for every video with a time-reversed twin
    annotations/event_swap_pairs.csv        video_id,swapped_video_id for every video with an event-swapped twin
    annotations/event_reversal_pairs.csv    video_id,events_reversed_video_id for every video with an
                                            events-reversed twin
    annotations/caption_kinds.csv           video_id,caption,kind (one_event | sequence),event (the position
                                            of the event a one-event caption describes; -1 for sequence)
    synthetic_dataset.json                  parameters and counts; written last

The pairs files serve evaluation (order, swap and direction contrast) and training (main_task_retrieval.py
--twin_batches keeps a family in one batch); the kinds file gives metrics per caption kind.

    python -m preprocess.make_synthetic_dataset --output_dir data/synthetic
"""
import argparse
import inspect
import json
import os
import shutil
import sys
from collections import Counter
from typing import Optional

from modules.atomic_file import new_staging_folder
from modules.errors import InputError
from preprocess.synthetic.plan import RELATIONS, SPLITS, plan_dataset
from preprocess.synthetic.writer import write_annotations, write_videos

GENERATOR_VERSION = 4
SUMMARY_FILE = "synthetic_dataset.json"


def _check_parameters(train_videos, val_videos, test_videos, captions_per_video, size, event_seconds, min_events,
                      max_events, swap_share, fps):
    """Raise InputError listing every parameter the generator cannot honour."""
    problems = []
    if train_videos < 2 or test_videos < 2 or val_videos < 0:
        problems.append("train_videos and test_videos must be >= 2 (a video and its twin), val_videos >= 0")
    if captions_per_video < 1 or fps < 1:
        problems.append("captions_per_video and fps must be >= 1")
    if size < 16 or size % 2:
        problems.append("size must be an even number of pixels >= 16")
    if event_seconds < 2:
        problems.append("event_seconds must be >= 2 (an event needs a start and an end)")
    if min_events < 2 or max_events < min_events:
        problems.append("min_events must be >= 2 (a swapped twin needs two events) and max_events >= min_events")
    if not 0.0 <= swap_share <= 1.0:
        problems.append("swap_share must be in [0, 1]")
    if problems:
        raise InputError("; ".join(problems))


def _read_finished_summary(output_dir: str) -> Optional[dict]:
    """The summary of a finished dataset in `output_dir`, or None (its presence marks a completed run)."""
    path = os.path.join(output_dir, SUMMARY_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _summary(parameters: dict, plan: list) -> dict:
    """Parameters and counts per split: videos, videos with a twin of each relation, captions per kind."""
    counts = {split: {"videos": 0, "twins": Counter({relation: 0 for relation in RELATIONS}), "captions": Counter()}
              for split in SPLITS}
    for video in plan:
        split = counts[video.split]
        split["videos"] += 1
        split["twins"].update(video.twins.keys())
        split["captions"].update(kind for _, kind, _ in video.captions)
    for split in counts.values():
        split["twins"], split["captions"] = dict(split["twins"]), dict(sorted(split["captions"].items()))
    return {"parameters": parameters, "splits": counts, "sentences": sum(len(video.captions) for video in plan),
            "frames_per_video": sorted({video.spec.key_states * parameters["fps"] for video in plan})}


def make_synthetic_dataset(output_dir: str, train_videos: int = 400, val_videos: int = 40, test_videos: int = 100,
                           captions_per_video: int = 10, size: int = 64, event_seconds: int = 3, min_events: int = 2,
                           max_events: int = 3, swap_share: float = 0.25, fps: int = 4, seed: int = 0) -> dict:
    """Generate the dataset under `output_dir` (or reuse it if already generated with these parameters).

    Returns the summary (parameters, per split: videos, twins and captions per kind; frames per
    video) plus `output_dir`, `videos_dir`, `annotations_dir` and `reused`. Raises InputError for
    bad sizes or an `output_dir` that holds something else.
    """
    _check_parameters(train_videos, val_videos, test_videos, captions_per_video, size, event_seconds, min_events,
                      max_events, swap_share, fps)
    parameters = {"generator_version": GENERATOR_VERSION, "train_videos": train_videos, "val_videos": val_videos,
                  "test_videos": test_videos, "captions_per_video": captions_per_video, "size": size,
                  "event_seconds": event_seconds, "min_events": min_events, "max_events": max_events,
                  "swap_share": swap_share, "fps": fps, "seed": seed}
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
    staging = new_staging_folder(absolute)
    try:
        plan = plan_dataset(train_videos, val_videos, test_videos, captions_per_video, event_seconds,
                            tuple(range(min_events, max_events + 1)), swap_share, seed)
        for folder in ("videos", "annotations"):
            os.mkdir(os.path.join(staging, folder))
        write_videos(os.path.join(staging, "videos"), plan, size, fps)
        write_annotations(os.path.join(staging, "annotations"), plan)
        summary = _summary(parameters, plan)
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
    for flag, meaning in (("train_videos", "train videos"),
                          ("val_videos", "validate-split videos"),
                          ("test_videos", "test videos"),
                          ("captions_per_video", "captions per video in MSRVTT_data.json"),
                          ("size", "frame side in pixels (even)"),
                          ("event_seconds", "key states (seconds) per event"),
                          ("min_events", "fewest events per video"),
                          ("max_events", "most events per video"),
                          ("swap_share", "share of the evaluation splits' twin families that hold all four "
                                         "twins (train: all)"),
                          ("fps", "video frame rate (each key state is held for one second)"),
                          ("seed", "random seed; the same seed gives the same dataset")):
        default = defaults[flag].default
        parser.add_argument(f"--{flag}", type=type(default), default=default, help=f"{meaning} (default {default})")
    args = vars(parser.parse_args(argv))
    try:
        summary = make_synthetic_dataset(**args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"synthetic dataset {'already at' if summary['reused'] else 'written to'} {summary['output_dir']}: "
          + "; ".join(f"{split} {counts['videos']} videos (with a twin: "
                      + ", ".join(f"{relation.replace('_', '-')} {n}" for relation, n in counts["twins"].items())
                      + "; captions " + ", ".join(f"{kind} {n}" for kind, n in counts["captions"].items()) + ")"
                      for split, counts in summary["splits"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
