"""bench/feature_level/seeds.py and runs.py: several training seeds as one result, and what a seed changes."""
import pytest
import torch

from bench.feature_level.runs import POOL_STRIDE, TRAINING_STREAM, pool_seeds, run_seeds
from bench.feature_level.seeds import combine


def test_combine_takes_mean_and_sample_std_of_every_number_and_keeps_the_rest():
    per_seed = [{"a": {"R1": 40.0, "ties": 0, "name": "x"}, "flag": True},
                {"a": {"R1": 50.0, "ties": 2, "name": "x"}, "flag": True},
                {"a": {"R1": 60.0, "ties": 1, "name": "x"}, "flag": True}]
    combined = combine(per_seed)
    assert combined["a"]["R1"] == 50.0 and combined["a"]["R1_std"] == pytest.approx(10.0)  # n - 1
    assert combined["a"]["ties"] == 1.0 and combined["a"]["ties_std"] == pytest.approx(1.0)
    assert combined["a"]["name"] == "x" and combined["flag"] is True and "flag_std" not in combined


def test_one_seed_has_zero_spread():
    assert combine([{"R1": 7.0}]) == {"R1": 7.0, "R1_std": 0.0}


def test_pools_are_averaged_without_a_spread():
    assert combine([{"a": {"R1": 40.0}}, {"a": {"R1": 60.0}}], with_std=False) == {"a": {"R1": 50.0}}


def test_the_first_pool_is_the_splits_own_and_the_others_keep_away_from_training_streams():
    assert pool_seeds(0, "test", 1) == [3] and pool_seeds(1, "val", 3) == [3, 3 + POOL_STRIDE, 3 + 2 * POOL_STRIDE]
    assert not set(pool_seeds(0, "test", 4)) & set(pool_seeds(0, "val", 4))
    assert all(not TRAINING_STREAM <= seed < POOL_STRIDE for seed in pool_seeds(0, "test", 4))


CONFIG = {"heads": "xpool", "temporal_layers": 1, "steps": 3, "lr": 1e-3, "batch_size": 8, "pool": 6, "pools": 1,
          "data_seed": 0, "split": "val", "threads": None}


def _r1(run: dict) -> list:
    return [run["heads"]["xpool"]["trained"][kind]["retrieval"]["R1"] for kind in ("one_segment", "order")]


def test_a_training_seed_changes_the_trained_head_and_the_same_seed_repeats_it():
    threads = torch.get_num_threads()
    try:
        first, second, again = run_seeds(CONFIG, [0, 1, 0], fix_table=False)
    finally:
        torch.set_num_threads(threads)
    assert first["heads"]["xpool"]["loss"] == again["heads"]["xpool"]["loss"]
    assert first["heads"]["xpool"]["loss"] != second["heads"]["xpool"]["loss"]
    assert first["heads"]["xpool"]["step0"] != second["heads"]["xpool"]["step0"]  # other starting weights
    assert _r1(first) == _r1(again)


def test_seeds_in_worker_processes_give_what_one_process_gives():
    """On the same thread count: float sums (BLAS kernels) depend on it, and so do the last digits."""
    threads = torch.get_num_threads()
    try:
        alone = run_seeds({**CONFIG, "threads": 1}, [0, 1], fix_table=False)
    finally:
        torch.set_num_threads(threads)
    parallel = run_seeds({**CONFIG, "threads": 1}, [0, 1], fix_table=False, jobs=2)
    assert [run["heads"]["xpool"]["loss"] for run in alone] == [run["heads"]["xpool"]["loss"] for run in parallel]


def test_more_pools_keep_the_first_pools_numbers_and_average_over_all():
    threads = torch.get_num_threads()
    try:
        one, three = (run_seeds({**CONFIG, "threads": 1, "pools": count}, [0], fix_table=False)[0]["heads"]["xpool"]
                      for count in (1, 3))
    finally:
        torch.set_num_threads(threads)
    assert one["loss"] == three["loss"] and len(three["per_pool"]) == 3
    assert three["per_pool"][0] == one["per_pool"][0]  # the split's own pool, the same trained head
    assert one["trained"]["order"]["retrieval"] == pytest.approx(one["per_pool"][0]["order"]["retrieval"])
    r1 = {kind: [pool[kind]["retrieval"]["R1"] for pool in three["per_pool"]] for kind in three["trained"]}
    assert any(len(set(values)) > 1 for values in r1.values())  # other captions, other R@1
    for kind, values in r1.items():
        assert three["trained"][kind]["retrieval"]["R1"] == pytest.approx(sum(values) / 3)
