"""The training loop on the tiny synthetic dataset: no host read per step and the NaN stop within
--n_display steps; CLIP4Clip's recipe (--optimizer clip4clip): fp16 CLIP weights and optimizer
state through the weights_only checkpoint, exact resume, eval-only."""
import json
import os
import sys

import pytest
import torch

import main_task_retrieval
from driver.checkpoints import load_checkpoint
from driver.trainer import Trainer
from modules import head_base
from tests.support.driver_runs import driver_args, model_state, read_jsonl, step_losses

pytestmark = pytest.mark.slow  # every test runs the driver end to end

CLIP4CLIP = ["--optimizer", "clip4clip", "--freeze_layer_num", "0", "--epochs", "2", "--batch_size", "8"]


@pytest.fixture(scope="module")
def clip4clip_run(synthetic):
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


def test_clip4clip_resume_continues_exactly(synthetic, clip4clip_run, monkeypatch):
    output = synthetic["root"] / "clip4clip_resumed"
    original = Trainer.train_epoch
    epochs_run = []

    def stop_after_one_epoch(trainer):
        if epochs_run:
            raise KeyboardInterrupt("stopped")
        epochs_run.append(1)
        return original(trainer)

    monkeypatch.setattr(Trainer, "train_epoch", stop_after_one_epoch)
    with pytest.raises(KeyboardInterrupt):
        main_task_retrieval.main(driver_args(synthetic, output, *CLIP4CLIP))
    monkeypatch.undo()
    assert main_task_retrieval.main(driver_args(synthetic, output, *CLIP4CLIP, "--resume")) == 0
    straight, resumed = model_state(clip4clip_run), model_state(output)
    assert all(torch.equal(straight[key], resumed[key]) for key in straight)
    assert step_losses(output) == step_losses(clip4clip_run)


def test_eval_only_in_fp16_reproduces_the_final_metrics(synthetic, clip4clip_run):
    output = synthetic["root"] / "clip4clip_eval"
    args = driver_args(synthetic, output, "--optimizer", "clip4clip", "--init_model",
                       str(clip4clip_run / "checkpoint_best.pt"))
    args[args.index("--do_train")] = "--do_eval"
    assert main_task_retrieval.main(args) == 0
    final = json.loads((clip4clip_run / "metrics.json").read_text())
    assert json.loads((output / "metrics.json").read_text())["t2v"] == final["t2v"]


# Tensor methods that copy a value to the host: on a GPU each waits for the queued kernels.
HOST_READS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__", "__format__")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAINING_CODE = tuple(os.path.join(REPO, folder) + os.sep for folder in ("driver", "modules"))


def test_a_training_step_reads_nothing_back_from_the_device(synthetic, monkeypatch):
    """11 steps with --n_display 4: the steps themselves read no tensor back to the host (the
    calls made by driver/ and modules/ code are counted; under autograd the attention kernel
    shifts its logits instead of checking them on the host); the losses are read at steps 4, 8
    and at the end of the epoch, one read each."""
    events, inside = [], {"step": False, "epoch": False}

    def counted(name, original):
        def read(self, *args, **kwargs):
            caller = sys._getframe(1).f_code
            if inside["epoch"] and caller.co_filename.startswith(TRAINING_CODE):
                events.append(("in step" if inside["step"] else "read", name, caller.co_name))
            return original(self, *args, **kwargs)
        return read

    def marked(key, original):
        def method(trainer, *args):
            inside[key] = True
            try:
                return original(trainer, *args)
            finally:
                inside[key] = False
        return method

    for name in HOST_READS:
        monkeypatch.setattr(torch.Tensor, name, counted(name, getattr(torch.Tensor, name)))
    monkeypatch.setattr(Trainer, "train_step", marked("step", Trainer.train_step))
    monkeypatch.setattr(Trainer, "train_epoch", marked("epoch", Trainer.train_epoch))
    reads = []
    original_read_steps = Trainer.read_steps
    monkeypatch.setattr(Trainer, "read_steps",
                        lambda trainer, pending, bar: reads.append([p.step for p in pending])
                        or original_read_steps(trainer, pending, bar))
    output = synthetic["root"] / "host_reads"
    assert main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "1", "--batch_size", "2",
                                                "--n_display", "4")) == 0
    assert [steps[-1] for steps in reads] == [4, 8, 11]
    in_steps = [event for event in events if event[0] == "in step"]
    assert in_steps == []
    assert [event for event in events if event[0] == "read"] == [("read", "tolist", "read_steps")] * 3
    assert [entry["step"] for entry in read_jsonl(output, "train_steps.jsonl")] == list(range(1, 12))


def test_a_nan_loss_stops_the_run_within_n_display_steps_naming_its_step(synthetic, monkeypatch, capsys):
    original, calls = head_base.symmetric_infonce, []

    def diverging_loss(*args):
        calls.append(1)
        loss = original(*args)
        return loss * float("nan") if len(calls) == 6 else loss

    monkeypatch.setattr(head_base, "symmetric_infonce", diverging_loss)
    output = synthetic["root"] / "diverged_early"
    code = main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "1", "--batch_size", "2",
                                                "--n_display", "4"))
    assert code == 1 and len(calls) == 8  # read at step 8, before step 9
    assert "loss is nan at step 6 (epoch 1); stopped at step 8" in capsys.readouterr().err
    assert not (output / "checkpoint_last.pt").exists()
    assert [entry["step"] for entry in read_jsonl(output, "train_steps.jsonl")] == [1, 2, 3, 4]
