"""Twin videos of the synthetic dataset: the same frames in another order.

`order_contrast_pairs.csv` (video_id,reversed_video_id) lists every video's time-reversed
twin (all frames backwards, with the reversed caption); `event_swap_pairs.csv`
(video_id,swapped_video_id) lists its event-swapped twin (the same events, each played
forwards, in reverse event order). Evaluation scores each caption's video against its twins
(order and swap contrast, `modules.metrics.order_contrast_accuracy`); training can keep a
video's whole family (the video and all its twins) in one batch
(`dataloaders.twin_batch_sampler`). Real datasets have no such files.
"""
import os
from typing import Optional, Sequence

import numpy as np

from dataloaders.annotation_files import annotation_error, read_csv_columns

TWIN_PAIRS_FILE = "order_contrast_pairs.csv"
SWAP_PAIRS_FILE = "event_swap_pairs.csv"


def _read_partner_index(dataset: str, data_path: str, video_ids: Sequence[str], file_name: str,
                        partner_column: str) -> Optional[np.ndarray]:
    """Video index -> index of its partner in `video_ids` (-1 for none, e.g. a partner that was
    skipped or lies in another split); None when the annotation folder has no such file.
    Pairs must be listed both ways round."""
    path = os.path.join(data_path, file_name)
    if not os.path.isfile(path):
        return None
    position = {video_id: index for index, video_id in enumerate(video_ids)}
    partners = np.full(len(video_ids), -1, dtype=np.int64)
    for line, (video_id, partner_id) in read_csv_columns(dataset, path, ["video_id", partner_column]):
        if video_id == partner_id:
            raise annotation_error(dataset, path, f"line {line}", f"{video_id} is listed as its own twin")
        if video_id in position and partner_id in position:
            partners[position[video_id]] = position[partner_id]
    paired = np.nonzero(partners >= 0)[0]
    if (partners[partners[paired]] != paired).any():
        first = paired[partners[partners[paired]] != paired][0]
        raise annotation_error(dataset, path, "pairs", f"{video_ids[first]} -> {video_ids[partners[first]]} "
                                                       "is not listed the other way round")
    return partners


def read_twin_index(dataset: str, data_path: str, video_ids: Sequence[str]) -> Optional[np.ndarray]:
    """Video index -> index of its time-reversed twin (-1: none in `video_ids`); None without the file."""
    return _read_partner_index(dataset, data_path, video_ids, TWIN_PAIRS_FILE, "reversed_video_id")


def read_swap_index(dataset: str, data_path: str, video_ids: Sequence[str]) -> Optional[np.ndarray]:
    """Video index -> index of its event-swapped twin (-1: none in `video_ids`); None without the file."""
    return _read_partner_index(dataset, data_path, video_ids, SWAP_PAIRS_FILE, "swapped_video_id")


def twin_families(*partner_indices: Optional[np.ndarray]) -> np.ndarray:
    """Family label per video: videos linked by any of the partner indices (video -> partner,
    -1 none; None arrays are ignored) share a label, the smallest video index of the family;
    -1 for a video without twins."""
    given = [np.asarray(partners) for partners in partner_indices if partners is not None]
    label = np.arange(len(given[0]))
    changed = True
    while changed:  # propagate the smallest index along the links until nothing moves
        changed = False
        for partners in given:
            linked = partners >= 0
            smaller = np.minimum(label[linked], label[partners[linked]])
            if (smaller < label[linked]).any():
                label[linked] = smaller
                changed = True
    linked_any = np.zeros(len(label), dtype=bool)
    for partners in given:
        linked_any |= partners >= 0
    return np.where(linked_any, label, -1)
