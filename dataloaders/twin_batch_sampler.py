"""Training order that keeps every video and its time-reversed twin in one global batch.

Twins differ only in frame order, so they are each other's hardest negatives. Trained from
scratch with random batches, a model sees a twin pair together too rarely: the two captions
("grows" / "shrinks") are pulled to the same order-blind video features and become
synonyms, and nothing separates them again. With twins always in one batch, each caption has
its twin's video as a negative and each video its twin's caption, which is the signal that
makes order learnable (`make demo`; README "Demo"). Needs one item per video
(`--train_captions one`), so that an item index is a video index.
"""
from typing import Iterator

import numpy as np
from torch.utils.data import Sampler

from modules.errors import InputError


class TwinBatchSampler(Sampler[int]):
    """This rank's item indices, `global_batch // world_size` per batch: a shuffled sequence of
    units of two (a twin pair, or two videos without twin) cut into global batches, each
    global batch split into contiguous per-rank slices. Reshuffled by `set_epoch`; the last
    incomplete global batch is dropped."""

    def __init__(self, twin_index: np.ndarray, global_batch: int, rank: int, world_size: int, seed: int):
        if global_batch % 2 or global_batch % world_size:
            raise InputError(f"twin batches need an even global batch divisible by the {world_size} processes, "
                             f"got {global_batch}")
        self.twin_index = np.asarray(twin_index)
        self.global_batch, self.rank, self.world_size, self.seed = global_batch, rank, world_size, seed
        self.epoch = 0
        if (self.twin_index >= 0).sum() == 0:
            raise InputError("twin batches need twin pairs, but no training video has its twin in the split")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _global_order(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.epoch])
        videos = np.arange(len(self.twin_index))
        pairs = np.stack([videos, self.twin_index], 1)[self.twin_index > videos]  # each pair once
        singles = rng.permutation(videos[self.twin_index < 0])
        units = np.concatenate([pairs, singles[: len(singles) // 2 * 2].reshape(-1, 2)])
        return units[rng.permutation(len(units))].reshape(-1)

    def __len__(self) -> int:
        units = (self.twin_index > np.arange(len(self.twin_index))).sum() + (self.twin_index < 0).sum() // 2
        return (2 * units // self.global_batch) * (self.global_batch // self.world_size)

    def __iter__(self) -> Iterator[int]:
        order = self._global_order()
        local = self.global_batch // self.world_size
        for start in range(0, len(order) - self.global_batch + 1, self.global_batch):
            yield from order[start + self.rank * local: start + (self.rank + 1) * local].tolist()
