import pytest

from driver.process_group import shard_range


@pytest.mark.parametrize("total,world", [(10, 3), (2, 4), (0, 2), (7, 1)])
def test_shards_cover_everything_once(total, world):
    covered = [i for rank in range(world) for i in shard_range(total, rank, world)]
    assert covered == list(range(total))
