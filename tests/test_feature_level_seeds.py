"""bench/feature_level/seeds.py and runs.py: several training seeds as one result, and what a seed changes."""
import pytest
import torch

from bench.feature_level.runs import run_seeds
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


CONFIG = {"heads": "xpool", "temporal_layers": 1, "steps": 3, "lr": 1e-3, "batch_size": 8, "pool": 6,
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
