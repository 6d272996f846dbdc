"""VATEX: the official JSON files (10 English captions per video) and HGR's split lists.

train = `train_list.txt` (the official training set), val / test = `val_list.txt` /
`test_list.txt` (HGR's halves of the official validation set, 1,500 videos each). Every
split uses all English captions of its videos, so test is multi-caption (about 15,000
queries against 1,500 videos). Ids whose videos are no longer downloadable are dropped
later, by the video source (`restrict`), not here.
"""
from typing import Dict, List

from dataloaders.annotation_files import (annotation_error, annotation_path, json_records, read_json,
                                          splits_from_id_lists)
from dataloaders.retrieval_split import RetrievalSplit

DATASET = "vatex"
CAPTION_FILES = ("vatex_training_v1.0.json", "vatex_validation_v1.0.json")
SPLIT_LISTS = {"train": "train_list.txt", "val": "val_list.txt", "test": "test_list.txt"}


def _english_captions(data_path: str) -> Dict[str, List[str]]:
    captions = {}
    for file_name in CAPTION_FILES:
        path = annotation_path(DATASET, data_path, file_name)
        records = read_json(DATASET, path)
        for position, record in json_records(DATASET, path, records, "videos", {"videoID": str, "enCap": list}):
            english = record["enCap"]
            if not english or not all(isinstance(c, str) and c.strip() for c in english):
                raise annotation_error(DATASET, path, f"videos[{position}]",
                                       f"'enCap' of {record['videoID']!r} must be a list of non-empty strings")
            captions[record["videoID"]] = [c.strip() for c in english]
    return captions


def load_vatex_splits(data_path: str) -> Dict[str, RetrievalSplit]:
    return splits_from_id_lists(DATASET, data_path, SPLIT_LISTS, _english_captions(data_path), " or ".join(CAPTION_FILES))
