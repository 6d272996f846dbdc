"""The driver with CLIP4Clip's recipe (--optimizer clip4clip) on the tiny synthetic dataset: fp16
CLIP weights and optimizer state through the weights_only checkpoint, exact resume, eval-only."""
import json

import pytest
import torch

import main_task_retrieval
from driver import trainer as driver_trainer
from driver.checkpoints import load_checkpoint
from tests.support.driver_runs import driver_args, model_state, step_losses, synthetic  # noqa: F401 (fixture)

CLIP4CLIP = ["--optimizer", "clip4clip", "--freeze_layer_num", "0", "--epochs", "2", "--batch_size", "8"]


@pytest.fixture(scope="module")
def clip4clip_run(synthetic):  # noqa: F811
    output = synthetic["root"] / "clip4clip"
    assert main_task_retrieval.main(driver_args(synthetic, output, *CLIP4CLIP)) == 0
    return output


def test_clip_trains_in_fp16_and_its_state_goes_through_the_checkpoint(clip4clip_run):
    assert json.loads((clip4clip_run / "config.json").read_text())["optimizer"] == "clip4clip"
    assert all(torch.isfinite(torch.tensor(step_losses(clip4clip_run))))
    checkpoint = load_checkpoint(str(clip4clip_run / "checkpoint_last.pt"))  # weights_only=True
    model = checkpoint["model"]
    assert model["backbone.clip.visual.transformer.resblocks.0.mlp.c_fc.weight"].dtype == torch.float16
    assert model["backbone.clip.ln_final.weight"].dtype == torch.float32
    optimizer = checkpoint["optimizer"]
    assert {state["exp_avg"].dtype for state in optimizer["state"].values()} == {torch.float16, torch.float32}
    assert len(optimizer["state"]) == sum(len(group["params"]) for group in optimizer["param_groups"])


def test_clip4clip_resume_continues_exactly(synthetic, clip4clip_run, monkeypatch):  # noqa: F811
    output = synthetic["root"] / "clip4clip_resumed"
    original = driver_trainer.train_one_epoch
    epochs_run = []

    def stop_after_one_epoch(*args, **kwargs):
        if epochs_run:
            raise KeyboardInterrupt("stopped")
        epochs_run.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(driver_trainer, "train_one_epoch", stop_after_one_epoch)
    with pytest.raises(KeyboardInterrupt):
        main_task_retrieval.main(driver_args(synthetic, output, *CLIP4CLIP))
    monkeypatch.undo()
    assert main_task_retrieval.main(driver_args(synthetic, output, *CLIP4CLIP, "--resume")) == 0
    straight, resumed = model_state(clip4clip_run), model_state(output)
    assert all(torch.equal(straight[key], resumed[key]) for key in straight)
    assert step_losses(output) == step_losses(clip4clip_run)


def test_eval_only_in_fp16_reproduces_the_final_metrics(synthetic, clip4clip_run):  # noqa: F811
    output = synthetic["root"] / "clip4clip_eval"
    args = driver_args(synthetic, output, "--optimizer", "clip4clip", "--init_model",
                       str(clip4clip_run / "checkpoint_best.pt"))
    args[args.index("--do_train")] = "--do_eval"
    assert main_task_retrieval.main(args) == 0
    final = json.loads((clip4clip_run / "metrics.json").read_text())
    assert json.loads((output / "metrics.json").read_text())["t2v"] == final["t2v"]
