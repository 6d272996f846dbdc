"""MSVD: `raw-captions.pkl` (video id -> list of token lists) and the train/val/test id lists.

About 40 captions per video; val and test are multi-caption. The pickle is read with an
unpickler that allows only built-in data (see `builtin_pickle.py`); a caption is its tokens
joined by spaces.
"""
from typing import Dict, List

from dataloaders.annotation_files import annotation_error, annotation_path, splits_from_id_lists
from dataloaders.builtin_pickle import load_builtin_pickle
from dataloaders.retrieval_split import RetrievalSplit

DATASET = "msvd"
CAPTIONS_FILE = "raw-captions.pkl"
SPLIT_LISTS = {"train": "train_list.txt", "val": "val_list.txt", "test": "test_list.txt"}


def _is_token_list(tokens: object) -> bool:
    return isinstance(tokens, (list, tuple)) and len(tokens) > 0 and all(isinstance(t, str) for t in tokens)


def _captions(data_path: str) -> Dict[str, List[str]]:
    path = annotation_path(DATASET, data_path, CAPTIONS_FILE)
    raw = load_builtin_pickle(path, DATASET)
    if not isinstance(raw, dict):
        raise annotation_error(DATASET, path, "top level", f"expected a dict id -> captions, found {type(raw).__name__}")
    captions = {}
    for video_id, token_lists in raw.items():
        if not (isinstance(video_id, str) and isinstance(token_lists, (list, tuple)) and token_lists
                and all(_is_token_list(tokens) for tokens in token_lists)):
            raise annotation_error(DATASET, path, f"entry {video_id!r}",
                                   "expected a non-empty list of non-empty token lists (lists of strings)")
        captions[video_id] = [" ".join(tokens) for tokens in token_lists]
    return captions


def load_msvd_splits(data_path: str) -> Dict[str, RetrievalSplit]:
    return splits_from_id_lists(DATASET, data_path, SPLIT_LISTS, _captions(data_path), CAPTIONS_FILE)
