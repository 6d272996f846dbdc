"""Model selection without the test split: `--holdout_val N` (dataloaders/holdout.py) and
`--model_selection last` (driver/selection.py), end to end on the tiny MSR-VTT-format dataset
(22 training videos, 6 test videos, no validation split)."""
import json

import numpy as np
import pytest

import main_task_retrieval
from dataloaders.holdout import hold_out_videos
from dataloaders.retrieval_split import split_from_pairs
from driver import evaluate
from driver.selection import check_held_out_videos
from modules.errors import InputError
from tests.support.driver_runs import driver_args, eval_args


@pytest.fixture
def evaluated_splits(monkeypatch):
    """The name of the split of every evaluation, in order."""
    names, original = [], evaluate.Evaluator.__call__

    def counting(self, *args, **kwargs):
        names.append(self.split.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(evaluate.Evaluator, "__call__", counting)
    return names


def test_held_out_videos_are_seeded_disjoint_and_keep_their_captions():
    pairs = [(f"v{i}", f"caption {k} of v{i}") for i in range(20) for k in range(i % 3 + 1)]
    train = split_from_pairs("msrvtt", "train", pairs)
    rest, held = hold_out_videos(train, 5, seed=3)
    assert held.name == "holdout_val" and len(held.video_ids) == 5 and len(rest.video_ids) == 15
    assert not set(held.video_ids) & set(rest.video_ids)
    assert sorted(held.captions + rest.captions) == sorted(train.captions)
    for split in (rest, held):
        assert all(caption.endswith(split.video_ids[video]) for caption, video in
                   zip(split.captions, split.caption_video_index))
    assert hold_out_videos(train, 5, seed=3)[1].video_ids == held.video_ids
    assert hold_out_videos(train, 5, seed=4)[1].video_ids != held.video_ids
    for count in (0, 20):
        with pytest.raises(InputError, match=f"cannot hold out {count} of the 20 training videos"):
            hold_out_videos(train, count, seed=3)


@pytest.mark.slow
def test_a_held_out_validation_split_selects_and_the_test_split_waits_for_the_end(synthetic, evaluated_splits):
    output = synthetic["root"] / "holdout"
    assert main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "2", "--batch_size", "8",
                                                "--holdout_val", "6")) == 0
    assert evaluated_splits == ["holdout_val", "holdout_val", "test"]
    config = json.loads((output / "config.json").read_text())
    held_out = config["holdout_val_ids"]
    assert len(held_out) == 6 and config["holdout_val"] == 6
    history = [json.loads(line) for line in (output / "metrics_history.jsonl").read_text().splitlines()]
    assert [entry["split"] for entry in history] == ["holdout_val"] * 2 and history[0]["n_videos"] == 6
    scores = [entry["t2v"]["R1"] for entry in history]
    best_epoch = int(np.argmax(scores)) + 1  # the first of equal scores
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["split"] == "test"
    assert metrics["selection"] == {"rule": "best_t2v_R1", "split": "holdout_val", "n_videos": 6, "epoch": best_epoch}
    log = (output / "log.txt").read_text()
    assert "model selection: best text-to-video R@1 on holdout_val (6 videos)" in log
    assert "msrvtt train: 16 captions, 16 videos" in log and "TEST split" not in log
    assert f"final test (epoch {best_epoch}, selected by best_t2v_R1 on holdout_val)" in log

    evaluated_splits.clear()  # eval-only of the selected checkpoint says how it was selected
    again = synthetic["root"] / "holdout_eval"
    assert main_task_retrieval.main(eval_args(synthetic, again, "--init_model", str(output / "checkpoint_best.pt"))) == 0
    assert evaluated_splits == ["test"]
    assert json.loads((again / "metrics.json").read_text())["selection"] == metrics["selection"]


@pytest.mark.slow
def test_the_last_epoch_without_a_validation_split_evaluates_only_the_final_test(synthetic, evaluated_splits):
    output = synthetic["root"] / "last_epoch"
    assert main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "2", "--batch_size", "8",
                                                "--model_selection", "last")) == 0
    assert evaluated_splits == ["test"]
    assert json.loads((output / "metrics.json").read_text())["selection"] == {"rule": "last_epoch", "epoch": 2}
    log = (output / "log.txt").read_text()
    assert "model selection: the last epoch; no evaluation before the final test" in log
    assert "final test (epoch 2, selected by last_epoch)" in log


@pytest.mark.slow
def test_the_reproduction_default_selects_on_the_test_split_and_says_so(synthetic, evaluated_splits):
    output = synthetic["root"] / "on_test"
    assert main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "1", "--batch_size", "8")) == 0
    assert evaluated_splits == ["test", "test"]
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["selection"] == {"rule": "best_t2v_R1", "split": "test", "n_videos": 6, "epoch": 1}
    assert "model selection uses the TEST split" in (output / "log.txt").read_text()


def test_a_resume_that_would_validate_on_other_videos_is_refused():
    started = {"config": {"holdout_val_ids": ["v1", "v2"]}}
    check_held_out_videos(["v1", "v2"], started)
    check_held_out_videos(["v1", "v2"], None)
    with pytest.raises(InputError, match="the held-out validation videos differ from the run's \\(2 ids, e.g. v2, v3\\)"):
        check_held_out_videos(["v1", "v3"], started)
