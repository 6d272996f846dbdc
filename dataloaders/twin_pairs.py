"""Time-reversed twin pairs (`order_contrast_pairs.csv` in the annotation folder).

The synthetic dataset lists, for every video that has one, its twin: the same frames in
reverse order, with the reversed caption. Evaluation scores each caption's video against
its twin (order-contrast accuracy, `modules.metrics.order_contrast_accuracy`); training can
keep twins in one batch (`dataloaders.twin_batch_sampler`). Real datasets have no such file.
"""
import os
from typing import Optional, Sequence

import numpy as np

from dataloaders.annotation_files import annotation_error, read_csv_columns

TWIN_PAIRS_FILE = "order_contrast_pairs.csv"


def read_twin_index(dataset: str, data_path: str, video_ids: Sequence[str]) -> Optional[np.ndarray]:
    """Video index -> index of its twin in `video_ids` (-1 for none, e.g. a twin that was
    skipped or lies in another split); None when the annotation folder has no pairs file."""
    path = os.path.join(data_path, TWIN_PAIRS_FILE)
    if not os.path.isfile(path):
        return None
    position = {video_id: index for index, video_id in enumerate(video_ids)}
    twins = np.full(len(video_ids), -1, dtype=np.int64)
    for line, (video_id, twin_id) in read_csv_columns(dataset, path, ["video_id", "reversed_video_id"]):
        if video_id == twin_id:
            raise annotation_error(dataset, path, f"line {line}", f"{video_id} is listed as its own twin")
        if video_id in position and twin_id in position:
            twins[position[video_id]] = position[twin_id]
    paired = np.nonzero(twins >= 0)[0]
    if (twins[twins[paired]] != paired).any():
        first = paired[twins[twins[paired]] != paired][0]
        raise annotation_error(dataset, path, "pairs", f"{video_ids[first]} -> {video_ids[twins[first]]} "
                                                       "is not listed the other way round")
    return twins
