"""Caption kinds (`caption_kinds.csv` in the annotation folder, written by the synthetic dataset).

The synthetic dataset has captions of several kinds ("sequence": every event of the video
in order; "one_event": one event only); evaluation reports its metrics per kind as well
(`modules.metrics.metrics_by_caption_kind`). The file has the header `video_id,caption,kind,event`
and one row per distinct caption of a video; `event` is the position (0-based) of the event a
one-event caption describes in its video, -1 for a caption of all of them (the demo report
measures where attention goes with it). Real datasets have no such file.
"""
import os
from typing import Optional

import numpy as np

from dataloaders.annotation_files import annotation_error, read_csv_columns
from dataloaders.retrieval_split import RetrievalSplit

CAPTION_KINDS_FILE = "caption_kinds.csv"


def _read_column(split: RetrievalSplit, data_path: str, column: str) -> Optional[list]:
    """`column` of the kinds file for every caption of `split` (None without the file); a caption
    of the split that the file does not list, or lists twice with other values, is an error."""
    path = os.path.join(data_path, CAPTION_KINDS_FILE)
    if not os.path.isfile(path):
        return None
    values = {}
    for line, (video_id, caption, value) in read_csv_columns(split.dataset, path, ["video_id", "caption", column]):
        if values.setdefault((video_id, caption), value) != value:
            raise annotation_error(split.dataset, path, f"line {line}", f"{video_id} caption {caption!r} listed "
                                   f"with {column} {values[video_id, caption]!r} and {value!r}")
    listed = []
    for caption, video in zip(split.captions, split.caption_video_index):
        key = (split.video_ids[video], caption.strip())
        if key not in values:
            raise annotation_error(split.dataset, path, "rows", f"no {column} for {key[0]} caption {caption!r}")
        listed.append(values[key])
    return listed


def read_caption_kinds(split: RetrievalSplit, data_path: str) -> Optional[np.ndarray]:
    """The kind of every caption of `split` (str array [num_captions]); None without the file."""
    kinds = _read_column(split, data_path, "kind")
    return None if kinds is None else np.array(kinds)


def read_described_events(split: RetrievalSplit, data_path: str) -> Optional[np.ndarray]:
    """The position of the event each caption of `split` describes (int64 [num_captions], -1: all
    of them); None without the file."""
    events = _read_column(split, data_path, "event")
    if events is None:
        return None
    try:
        return np.array([int(event) for event in events], dtype=np.int64)
    except ValueError as error:
        raise annotation_error(split.dataset, os.path.join(data_path, CAPTION_KINDS_FILE), "column event",
                               f"not an integer: {error}") from None
