"""MSR-VTT: `MSRVTT_data.json` plus the 9k / 7k training lists and the 1k-A test csv.

Splits (`msrvtt_split`):
- "9k": train = every caption of the 9,000 videos in `MSRVTT_train.9k.csv` (180k pairs),
  test = 1k-A (`MSRVTT_JSFUSION_test.csv`, one caption per video). No validation split.
- "7k": the same with `MSRVTT_train.7k.csv` (7,010 videos). No validation split.
- "full": the official train / validate / test of `MSRVTT_data.json`; test = 2,990 videos
  with 20 captions each (multi-caption evaluation). Papers call both "7k" and this "7k".
Every 1k-A test id must be a video of `MSRVTT_data.json` and must not be in the training
list (a test video seen in training is an error naming both lines), and every split must
hold at least one video.
"""
import os
from typing import Dict, List, Set

from dataloaders.annotation_files import (annotation_error, annotation_path, json_records, read_csv_columns,
                                          read_json, split_from_file)
from dataloaders.retrieval_split import RetrievalSplit
from modules.errors import InputError

DATASET = "msrvtt"
MSRVTT_SPLITS = ("9k", "7k", "full")
OFFICIAL_SPLIT_NAMES = {"train": "train", "validate": "val", "test": "test"}


def _read_data_json(data_path: str):
    """(path, captions per video id in file order, [(video_id, official split)] in file order)."""
    path = annotation_path(DATASET, data_path, "MSRVTT_data.json")
    data = read_json(DATASET, path)
    if not isinstance(data, dict):
        raise annotation_error(DATASET, path, "top level", "expected an object with 'videos' and 'sentences'")
    captions: Dict[str, List[str]] = {}
    for _, sentence in json_records(DATASET, path, data.get("sentences"), "sentences",
                                    {"video_id": str, "caption": str}):
        captions.setdefault(sentence["video_id"], []).append(sentence["caption"].strip())
    videos = [(video["video_id"], video["split"]) for _, video in
              json_records(DATASET, path, data.get("videos"), "videos", {"video_id": str, "split": str})]
    return path, captions, videos


def _train_from_csv(data_path: str, file_name: str, captions: Dict[str, List[str]], json_path: str):
    """(every caption of every listed video, the csv path, {video id: its line})."""
    path = annotation_path(DATASET, data_path, file_name)
    pairs, lines = [], {}
    for line, (video_id,) in read_csv_columns(DATASET, path, ["video_id"]):
        if video_id not in captions:
            raise annotation_error(DATASET, path, f"line {line}", f"video {video_id!r} has no captions in {json_path}")
        pairs.extend((video_id, caption) for caption in captions[video_id])
        lines.setdefault(video_id, line)
    return split_from_file(DATASET, "train", pairs, path), path, lines


def _test_1k_a(data_path: str, json_path: str, json_videos: Set[str], train_path: str,
               train_lines: Dict[str, int]) -> RetrievalSplit:
    """The 1k-A test csv, checked against the JSON (every id is an MSR-VTT video) and the
    training list (no video in both: its test numbers would not be held out)."""
    path = annotation_path(DATASET, data_path, "MSRVTT_JSFUSION_test.csv")
    pairs, overlap = [], []
    for line, (video_id, sentence) in read_csv_columns(DATASET, path, ["video_id", "sentence"]):
        if video_id not in json_videos:
            raise annotation_error(DATASET, path, f"line {line}", f"video {video_id!r} is not a video of {json_path}")
        if video_id in train_lines:
            overlap.append(f"{video_id} (line {line}; {os.path.basename(train_path)} line {train_lines[video_id]})")
        pairs.append((video_id, sentence))
    if overlap:
        shown = "; ".join(overlap[:5]) + (f"; ... {len(overlap) - 5} more" if len(overlap) > 5 else "")
        raise InputError(f"{DATASET}: {path}: {len(overlap)} test videos are also in the training list "
                         f"{train_path} (test results would not be held out): {shown}")
    return split_from_file(DATASET, "test", pairs, path)


def load_msrvtt_splits(data_path: str, msrvtt_split: str = "9k") -> Dict[str, RetrievalSplit]:
    """{"train", "test"} for 9k / 7k, {"train", "val", "test"} for full."""
    if msrvtt_split not in MSRVTT_SPLITS:
        raise InputError(f"unknown MSR-VTT split {msrvtt_split!r}; use one of {', '.join(MSRVTT_SPLITS)}")
    json_path, captions, videos = _read_data_json(data_path)
    if msrvtt_split != "full":
        train, train_path, train_lines = _train_from_csv(data_path, f"MSRVTT_train.{msrvtt_split}.csv", captions,
                                                         json_path)
        json_videos = {video_id for video_id, _ in videos}
        return {"train": train, "test": _test_1k_a(data_path, json_path, json_videos, train_path, train_lines)}
    pairs = {name: [] for name in OFFICIAL_SPLIT_NAMES.values()}
    for position, (video_id, official) in enumerate(videos):
        if official not in OFFICIAL_SPLIT_NAMES:
            raise annotation_error(DATASET, json_path, f"videos[{position}]",
                                   f"split {official!r} is not one of {sorted(OFFICIAL_SPLIT_NAMES)}")
        if video_id not in captions:
            raise annotation_error(DATASET, json_path, f"videos[{position}]", f"video {video_id!r} has no sentences")
        pairs[OFFICIAL_SPLIT_NAMES[official]].extend((video_id, c) for c in captions[video_id])
    return {name: split_from_file(DATASET, name, split_pairs, json_path, f"no video with split {official!r}")
            for (official, name), split_pairs in zip(OFFICIAL_SPLIT_NAMES.items(), pairs.values())}
