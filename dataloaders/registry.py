"""`--datatype` name -> annotation reader: `load_retrieval_splits` is the one entry point.

Which splits exist: "train" and "test" always; "val" only where the dataset has one
(LSMDC, VATEX, MSVD, DiDeMo, MSR-VTT "full"). MSR-VTT "9k" and "7k" have no validation
split (1k-A is the test set), so the returned dict has no "val" key and a log line says so:
model selection then has to fall back to the last epoch or the test set, which the driver
should state in its output.
"""
import logging
import os
from typing import Callable, Dict

from dataloaders.didemo import load_didemo_splits
from dataloaders.lsmdc import load_lsmdc_splits
from dataloaders.msrvtt import load_msrvtt_splits
from dataloaders.msvd import load_msvd_splits
from dataloaders.retrieval_split import RetrievalSplit
from dataloaders.vatex import load_vatex_splits
from modules.errors import InputError

logger = logging.getLogger(__name__)

READERS: Dict[str, Callable[[str], Dict[str, RetrievalSplit]]] = {
    "msrvtt": load_msrvtt_splits,
    "lsmdc": load_lsmdc_splits,
    "vatex": load_vatex_splits,
    "msvd": load_msvd_splits,
    "didemo": load_didemo_splits,
}
DATATYPES = tuple(READERS)


def load_retrieval_splits(datatype: str, data_path: str, msrvtt_split: str = "9k") -> Dict[str, RetrievalSplit]:
    """Read the annotations in folder `data_path` (the files under their published names) ->
    {"train", "test"[, "val"]: RetrievalSplit}. `msrvtt_split` ("9k", "7k", "full") is only
    read for MSR-VTT."""
    if datatype not in READERS:
        raise InputError(f"unknown --datatype {datatype!r}; use one of {', '.join(DATATYPES)}")
    if not os.path.isdir(data_path):
        raise InputError(f"{datatype}: --data_path is not a folder: {data_path}")
    if datatype == "msrvtt":
        splits, label = load_msrvtt_splits(data_path, msrvtt_split), f"msrvtt {msrvtt_split}"
    else:
        splits, label = READERS[datatype](data_path), datatype
    for split in splits.values():
        logger.info("%s %s: %d videos, %d captions", label, split.name, len(split.video_ids), len(split.captions))
    if "val" not in splits:
        logger.info("%s has no validation split", label)
    return splits
