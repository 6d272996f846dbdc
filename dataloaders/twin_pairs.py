"""Twin videos of the synthetic dataset: the same frames in another order.

Three files in the annotation folder, each listing pairs both ways round (video_id, twin):
- `order_contrast_pairs.csv` (video_id,reversed_video_id): the time-reversed twin, all frames
  backwards (the events in reverse order, each reversed), with the reversed caption;
- `event_swap_pairs.csv` (video_id,swapped_video_id): the event-swapped twin, the same events,
  each played forwards, in reverse event order;
- `event_reversal_pairs.csv` (video_id,events_reversed_video_id): the events-reversed twin,
  every event backwards in place, the event order kept.
Evaluation scores each caption's video against its twins (order, swap and direction contrast,
`modules.metrics.order_contrast_accuracy`); training can keep a video's whole family (the video
and all its twins) in one batch (`dataloaders.twin_batch_sampler`). Real datasets have no such files.
"""
import os
from typing import Dict, Optional, Sequence

import numpy as np

from dataloaders.annotation_files import annotation_error, read_csv_columns

TWIN_PAIRS_FILE = "order_contrast_pairs.csv"
# relation -> (file, twin column); the relation names are those of the synthetic dataset's plan
TWIN_FILES = {"reversed": (TWIN_PAIRS_FILE, "reversed_video_id"),
              "swapped": ("event_swap_pairs.csv", "swapped_video_id"),
              "events_reversed": ("event_reversal_pairs.csv", "events_reversed_video_id")}


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


def read_twin_index(dataset: str, data_path: str, video_ids: Sequence[str],
                    relation: str = "reversed") -> Optional[np.ndarray]:
    """Video index -> index of its twin of `relation` (`TWIN_FILES`; -1: none in `video_ids`);
    None without the file."""
    return _read_partner_index(dataset, data_path, video_ids, *TWIN_FILES[relation])


def read_all_twins(dataset: str, data_path: str, video_ids: Sequence[str]) -> Dict[str, np.ndarray]:
    """{relation: twin index} for every twin file the annotation folder has."""
    twins = {relation: read_twin_index(dataset, data_path, video_ids, relation) for relation in TWIN_FILES}
    return {relation: index for relation, index in twins.items() if index is not None}


def twin_families(*partner_indices: np.ndarray) -> np.ndarray:
    """Family label per video: videos linked by any of the partner indices (video -> partner,
    -1 none) share a label, the smallest video index of the family; -1 for a video without twins."""
    given = [np.asarray(partners) for partners in partner_indices]
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
