import numpy as np
import pytest

from dataloaders.twin_batch_sampler import TwinBatchSampler
from modules.errors import InputError

# 10 videos: pairs (0, 5), (1, 6), (2, 7), (3, 8); videos 4 and 9 have no twin
PAIRS = np.array([0, 1, 2, 3, -1, 0, 1, 2, 3, -1])
# 16 videos: quads {0, 4, 8, 12} and {1, 5, 9, 13}, pairs (2, 6), (3, 7), (10, 14); 11 and 15 single
QUADS = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 10, -1, 0, 1, 10, -1])


def global_batches(families, world_size, epoch=0, batch=4):
    samplers = [TwinBatchSampler(families, batch, rank, world_size, seed=3) for rank in range(world_size)]
    for sampler in samplers:
        sampler.set_epoch(epoch)
    local = [list(sampler) for sampler in samplers]
    per_rank = batch // world_size
    assert all(len(indices) == len(samplers[0]) for indices in local)
    return [sorted(i for rank in range(world_size) for i in local[rank][k * per_rank:(k + 1) * per_rank])
            for k in range(len(local[0]) // per_rank)]


def assert_families_together(families, batches):
    for batch in batches:
        for video in batch:
            assert families[video] < 0 or set(np.nonzero(families == families[video])[0]) <= set(batch)


@pytest.mark.parametrize("world_size", [1, 2, 4])
def test_twins_share_a_global_batch_on_any_number_of_processes(world_size):
    batches = global_batches(PAIRS, world_size)
    assert len(batches) == 2  # 5 units of two = 10 videos -> two full batches of 4, the rest dropped
    seen = [video for batch in batches for video in batch]
    assert len(seen) == len(set(seen)) == 8
    assert_families_together(PAIRS, batches)
    assert batches == global_batches(PAIRS, 1)  # the split across processes does not change the batches


@pytest.mark.parametrize("epoch", range(4))
def test_quads_and_pairs_stay_whole_and_batches_mix_them(epoch):
    sampler = TwinBatchSampler(QUADS, 8, 0, 1, seed=3)
    batches = global_batches(QUADS, 2, epoch=epoch, batch=8)
    assert sampler.unit == 4 and len(sampler) == len(batches) * 8 == 16  # 2 quads + 3 pairs + 2 singles: 4 units
    assert_families_together(QUADS, batches)
    assert sorted(v for batch in batches for v in batch) == list(range(16))


def test_pairs_join_other_pairs_at_random_so_batches_mix_family_sizes():
    families = np.repeat(np.arange(20), 2)
    families[:8] = np.repeat([0, 1], 4)  # two quads (videos 0-7) among 16 pairs
    batches = [batch for epoch in range(6) for batch in global_batches(families, 1, epoch=epoch, batch=8)]
    assert any(min(batch) < 8 <= max(batch) for batch in batches)  # a quad and pairs in one batch
    assert len({tuple(batch) for batch in batches if min(batch) >= 8}) > 5  # pairs meet different pairs


def test_a_family_that_lost_a_video_is_cut_into_pair_and_single():
    families = QUADS.copy()
    families[12] = -1  # as if video 12 had no frames: {0, 4, 8} left
    sampler = TwinBatchSampler(np.delete(families, 12), 4, 0, 1, seed=0)
    assert sampler.unit == 4 and sorted(len(group) for group in sampler.groups) == [1, 1, 1, 2, 2, 2, 2, 4]


def test_epochs_reshuffle_deterministically():
    assert global_batches(PAIRS, 1, epoch=0) == global_batches(PAIRS, 1, epoch=0)
    assert any(global_batches(PAIRS, 1, epoch=e) != global_batches(PAIRS, 1, epoch=0) for e in range(1, 4))


def test_batch_that_cannot_hold_a_family_or_no_twins_is_a_clear_error():
    with pytest.raises(InputError, match="divisible by 2"):
        TwinBatchSampler(PAIRS, 5, 0, 1, seed=0)
    with pytest.raises(InputError, match="divisible by 4"):
        TwinBatchSampler(QUADS, 6, 0, 1, seed=0)
    with pytest.raises(InputError, match="no training video has its twin"):
        TwinBatchSampler(np.full(4, -1), 4, 0, 1, seed=0)
