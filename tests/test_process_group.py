import pytest

from driver.process_group import shard_range, visible_device_index


@pytest.mark.parametrize("total,world", [(10, 3), (2, 4), (0, 2), (7, 1)])
def test_shards_cover_everything_once(total, world):
    covered = [i for rank in range(world) for i in shard_range(total, rank, world)]
    assert covered == list(range(total))


@pytest.mark.parametrize("local_rank,count,expected", [(0, 8, 0), (5, 8, 5), (5, 1, 0), (3, 2, 1)])
def test_local_rank_maps_onto_the_visible_devices(local_rank, count, expected):
    """Every GPU of the node visible: the local rank; one GPU shown per process: that one."""
    assert visible_device_index(local_rank, count) == expected
