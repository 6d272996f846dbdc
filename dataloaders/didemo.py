"""DiDeMo as paragraph-to-video retrieval: all descriptions of a video joined into one text.

`{train,val,test}_data.json` are lists of {"video", "description", "times"}. The query of a
video is its descriptions in file order joined by spaces (one caption per video), and the
whole video is the target (`times`, the moment boundaries, are not used). The video id is
the "video" field without its file extension, since videos and frames are found by stem:
the real val / test files name videos with .mts, .m2ts, .3g2 or a bare "." at the end, and
a few videos both as "X" and "X." (see `video_files.py`); all of these are one video whose
paragraph joins all its descriptions (1,065 val and 1,004 test videos in the real files).
Papers use 64 words and 64 frames for it.
"""
from typing import Dict, List

from dataloaders.annotation_files import annotation_path, json_records, read_json, split_from_file
from dataloaders.retrieval_split import RetrievalSplit
from dataloaders.video_files import strip_video_extension

DATASET = "didemo"
SPLIT_FILES = {"train": "train_data.json", "val": "val_data.json", "test": "test_data.json"}


def load_didemo_splits(data_path: str) -> Dict[str, RetrievalSplit]:
    splits = {}
    for name, file_name in SPLIT_FILES.items():
        path = annotation_path(DATASET, data_path, file_name)
        descriptions: Dict[str, List[str]] = {}
        for _, record in json_records(DATASET, path, read_json(DATASET, path), "moments",
                                      {"video": str, "description": str}):
            descriptions.setdefault(strip_video_extension(record["video"]), []).append(record["description"].strip())
        pairs = [(video_id, " ".join(texts)) for video_id, texts in descriptions.items()]
        splits[name] = split_from_file(DATASET, name, pairs, path)
    return splits
