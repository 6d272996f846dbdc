"""A validation split held out of the training videos, for datasets that have none (MSR-VTT
9k / 7k, where selecting the epoch on the test split means the test numbers are not held out).

`hold_out_videos(train, count, seed)` draws `count` distinct videos of the training split with
numpy's `default_rng(seed)` (the same videos for the same list and seed, whatever the number of
processes) and returns the training split without them (nor their captions) and those videos
with all their captions as the split "holdout_val", in training-list order.
"""
from typing import Tuple

import numpy as np

from dataloaders.retrieval_split import RetrievalSplit
from modules.errors import InputError

HOLDOUT_SPLIT = "holdout_val"


def hold_out_videos(train: RetrievalSplit, count: int, seed: int) -> Tuple[RetrievalSplit, RetrievalSplit]:
    """(training split without the held-out videos, the held-out split)."""
    if not 0 < count < len(train.video_ids):
        raise InputError(f"{train.dataset}: cannot hold out {count} of the {len(train.video_ids)} training videos "
                         "as a validation split; hold out at least 1 and leave some to train on")
    held_out = np.zeros(len(train.video_ids), dtype=bool)
    held_out[np.random.default_rng(seed).choice(len(train.video_ids), size=count, replace=False)] = True
    remaining = train.keep_videos(~held_out)
    validation = train.keep_videos(held_out)
    return remaining, RetrievalSplit(train.dataset, HOLDOUT_SPLIT, validation.video_ids, validation.captions,
                                     validation.caption_video_index)
