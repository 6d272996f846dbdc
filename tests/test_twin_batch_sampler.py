import numpy as np
import pytest

from dataloaders.twin_batch_sampler import TwinBatchSampler
from modules.errors import InputError

# 10 videos: pairs (0, 5), (1, 6), (2, 7), (3, 8); videos 4 and 9 have no twin
TWINS = np.array([5, 6, 7, 8, -1, 0, 1, 2, 3, -1])


def global_batches(world_size, epoch=0, batch=4):
    samplers = [TwinBatchSampler(TWINS, batch, rank, world_size, seed=3) for rank in range(world_size)]
    for sampler in samplers:
        sampler.set_epoch(epoch)
    local = [list(sampler) for sampler in samplers]
    per_rank = batch // world_size
    assert all(len(indices) == len(samplers[0]) for indices in local)
    return [sorted(i for rank in range(world_size) for i in local[rank][k * per_rank:(k + 1) * per_rank])
            for k in range(len(local[0]) // per_rank)]


@pytest.mark.parametrize("world_size", [1, 2, 4])
def test_twins_share_a_global_batch_on_any_number_of_processes(world_size):
    batches = global_batches(world_size)
    assert len(batches) == 2  # 5 units of two = 10 videos -> two full batches of 4, the rest dropped
    seen = [video for batch in batches for video in batch]
    assert len(seen) == len(set(seen)) == 8
    for batch in batches:
        for video in batch:
            assert TWINS[video] < 0 or TWINS[video] in batch
    assert batches == global_batches(1)  # the split across processes does not change the batches


def test_epochs_reshuffle_deterministically():
    assert global_batches(1, epoch=0) == global_batches(1, epoch=0)
    assert any(global_batches(1, epoch=e) != global_batches(1, epoch=0) for e in range(1, 4))


def test_odd_batch_or_no_pairs_is_a_clear_error():
    with pytest.raises(InputError, match="even global batch"):
        TwinBatchSampler(TWINS, 5, 0, 1, seed=0)
    with pytest.raises(InputError, match="no training video has its twin"):
        TwinBatchSampler(np.full(4, -1), 4, 0, 1, seed=0)
