"""Training order that keeps every video and its twins (its family) in one global batch.

Twins hold the same frames in another order (time-reversed, event-swapped), so they are each
other's hardest negatives. Trained from scratch with random batches, a model sees a twin pair
together too rarely: the two captions ("grows" / "shrinks") are pulled to the same order-blind
video features and become synonyms, and nothing separates them again. With a family always in
one batch, each caption has its twins' videos as negatives and each video its twins'
captions, which is the signal that makes order learnable (`make demo`; docs/demo.md).
Needs one item per video (`--train_captions one`), so that an item index is a video index.
"""
from typing import Iterator, List

import numpy as np
from torch.utils.data import Sampler

from modules.errors import InputError


class TwinBatchSampler(Sampler[int]):
    """This rank's item indices, `global_batch // world_size` per batch.

    Families (`families[v]`: a label shared by a video and its twins, -1 for a video without
    twins; `dataloaders.twin_pairs.twin_families`) have power-of-two sizes up to the largest,
    `unit` (2 for pairs, 4 with swap quads); a family that lost videos (e.g. skipped for
    missing frames) is cut into power-of-two parts (3 = 2 + 1). Every epoch, videos without twins are paired at
    random, then smaller groups are joined at random until every group has `unit` videos
    (what cannot be joined is left out of the epoch); the groups are shuffled and cut into
    global batches (a multiple of `unit`), each split into contiguous per-rank slices. So the
    batches mix families of every size, and the batch count is the same every epoch.
    Reshuffled by `set_epoch`; the last incomplete global batch is dropped."""

    def __init__(self, families: np.ndarray, global_batch: int, rank: int, world_size: int, seed: int):
        families = np.asarray(families)
        labels = np.unique(families[families >= 0])
        if len(labels) == 0:
            raise InputError("twin batches need twins, but no training video has its twin in the split")
        self.groups = [group for label in labels for group in _power_of_two_parts(np.nonzero(families == label)[0])]
        self.unit = max(len(group) for group in self.groups)
        self.groups += [np.array([video]) for video in np.nonzero(families < 0)[0]]
        if global_batch % self.unit or global_batch % world_size:
            raise InputError(f"twin batches need a global batch divisible by {self.unit} (the largest twin family) "
                             f"and by the {world_size} processes, got {global_batch}")
        self.global_batch, self.rank, self.world_size, self.seed = global_batch, rank, world_size, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _units(self, rng: np.random.Generator) -> List[np.ndarray]:
        """Groups joined at random into units of `unit` videos, in random order."""
        size, pending, units = 1, [], []
        while size <= self.unit:
            pending += [group for group in self.groups if len(group) == size]
            pending = [pending[index] for index in rng.permutation(len(pending))]
            if size == self.unit:
                units = pending
            pending = [np.concatenate(pending[k:k + 2]) for k in range(0, len(pending) - 1, 2)]
            size *= 2
        return [units[index] for index in rng.permutation(len(units))]

    def __len__(self) -> int:
        count, carried = 0, 0
        size = 1
        while size <= self.unit:  # the same joining as `_units`, on counts only
            count = carried + sum(len(group) == size for group in self.groups)
            carried = count // 2
            size *= 2
        return (count * self.unit // self.global_batch) * (self.global_batch // self.world_size)

    def __iter__(self) -> Iterator[int]:
        order = np.concatenate(self._units(np.random.default_rng([self.seed, self.epoch])))
        local = self.global_batch // self.world_size
        for start in range(0, len(order) - self.global_batch + 1, self.global_batch):
            yield from order[start + self.rank * local: start + (self.rank + 1) * local].tolist()


def _power_of_two_parts(videos: np.ndarray) -> List[np.ndarray]:
    """`videos` cut into consecutive parts of power-of-two sizes, largest first (7 -> 4 + 2 + 1)."""
    parts, start = [], 0
    for bit in reversed(range(len(videos).bit_length())):
        if len(videos) >> bit & 1:
            parts.append(videos[start:start + (1 << bit)])
            start += 1 << bit
    return parts
