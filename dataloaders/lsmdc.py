"""LSMDC (LSMDC16 challenge files): tab-separated clip annotations, one sentence per clip.

Each line: clip_id, start_aligned, end_aligned, start_extracted, end_extracted, sentence
(sentences may hold quotes and commas; only tabs separate fields). Test is the 1,000-clip
public test set that papers use; val is the official validation file.
"""
from typing import Dict

from dataloaders.annotation_files import annotation_path, read_tab_separated, split_from_file
from dataloaders.retrieval_split import RetrievalSplit

DATASET = "lsmdc"
SPLIT_FILES = {
    "train": "LSMDC16_annos_training.csv",
    "val": "LSMDC16_annos_val.csv",
    "test": "LSMDC16_challenge_1000_publictect.csv",
}
FIELDS_PER_LINE = 6


def load_lsmdc_splits(data_path: str) -> Dict[str, RetrievalSplit]:
    splits = {}
    for name, file_name in SPLIT_FILES.items():
        path = annotation_path(DATASET, data_path, file_name)
        pairs = [(fields[0], fields[-1]) for _, fields in read_tab_separated(DATASET, path, FIELDS_PER_LINE)]
        splits[name] = split_from_file(DATASET, name, pairs, path)
    return splits
