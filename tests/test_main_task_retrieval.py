"""The driver end to end on a tiny synthetic dataset: DDP equivalence, exact resume,
eval-only reproduction, NaN stop, bad --init_model."""
import json
import os
import subprocess
import sys

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import main_task_retrieval
from driver.checkpoints import load_checkpoint
from modules import head_base
from tests.support.driver_runs import (assert_same_parameters, driver_args, eval_args, evaluated_metrics,
                                       model_state, read_jsonl, step_losses, trained_run)

pytestmark = pytest.mark.slow  # every test runs the driver end to end

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def straight_run(synthetic):
    return trained_run(synthetic, "straight", "--epochs", "2", "--batch_size", "8")


def test_run_writes_config_metrics_and_checkpoints(straight_run):
    for name in ("config.json", "log.txt", "metrics.json", "metrics_history.jsonl", "train_steps.jsonl",
                 "checkpoint_last.pt", "checkpoint_best.pt"):
        assert (straight_run / name).is_file(), name
    config = json.loads((straight_run / "config.json").read_text())
    assert config["sim_header"] == "dllfa" and config["epochs"] == 2 and config["world_size"] == 1
    metrics = json.loads((straight_run / "metrics.json").read_text())
    assert metrics["n_captions"] == 6 and metrics["n_videos"] == 6
    assert 0.0 <= metrics["order_contrast"] <= 1.0
    assert all(torch.isfinite(torch.tensor(step_losses(straight_run))))
    assert "model selection uses the TEST split" in (straight_run / "log.txt").read_text()


def test_resume_after_a_preemption_mid_epoch_continues_exactly_with_clean_logs(synthetic, straight_run, monkeypatch):
    """Preempted in epoch 2 after its first step was logged: the resumed run redoes that step and
    its logs read as one run (no step twice), TensorBoard's too."""
    output = synthetic["root"] / "resumed"
    original = head_base.symmetric_infonce
    calls = []

    def preempted_in_step_4(*args):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt("preempted")
        return original(*args)

    monkeypatch.setattr(head_base, "symmetric_infonce", preempted_in_step_4)
    with pytest.raises(KeyboardInterrupt):
        main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "2", "--batch_size", "8",
                                             "--n_display", "1"))
    monkeypatch.undo()
    assert load_checkpoint(str(output / "checkpoint_last.pt"))["epoch"] == 1
    assert len(step_losses(output)) == 3
    assert main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "2", "--batch_size", "8",
                                                "--n_display", "1", "--resume")) == 0
    assert_same_parameters(model_state(straight_run), model_state(output), atol=0)
    assert read_jsonl(output, "train_steps.jsonl") == read_jsonl(straight_run, "train_steps.jsonl")
    assert read_jsonl(output, "metrics_history.jsonl") == read_jsonl(straight_run, "metrics_history.jsonl")
    assert (output / "metrics.json").read_text() == (straight_run / "metrics.json").read_text()
    events = EventAccumulator(str(output / "tensorboard"))
    events.Reload()
    logged = [(event.step, pytest.approx(event.value)) for event in events.Scalars("train/loss")]
    assert logged == list(enumerate(step_losses(straight_run), start=1))


def test_eval_only_reproduces_the_final_metrics(synthetic, straight_run):
    output = synthetic["root"] / "eval_only"
    args = eval_args(synthetic, output, "--init_model", str(straight_run / "checkpoint_best.pt"))
    assert main_task_retrieval.main(args) == 0
    assert evaluated_metrics(output) == json.loads((straight_run / "metrics.json").read_text())


GRADIENT_STEP = ("--epochs", "1", "--batch_size", "22", "--warmup_proportion", "0", "--max_grad_norm", "0")


def torchrun(synthetic, processes, module, output, dump_dir, *extra):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               "-m", module, *driver_args(synthetic, output, *GRADIENT_STEP, *extra)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "GRADIENT_DUMP_DIR": str(dump_dir)}
    result = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def first_gradients(synthetic, processes, name, dump_dir, *extra):
    """{parameter name: gradient} of each rank at the first optimizer step of a torchrun."""
    output = synthetic["root"] / name
    torchrun(synthetic, processes, "tests.support.gradient_dump_driver", output, dump_dir, *extra)
    dumps = [torch.load(dump_dir / f"rank{rank}.pt", weights_only=True) for rank in range(processes)]
    return output, [dict(zip(dump["names"], dump["grads"])) for dump in dumps]


def test_two_processes_match_one_process(synthetic, tmp_path):
    """One optimizer step on the same global batch of 22 pairs: 1 process vs torchrun with 2.
    The gradients are compared as the optimizer receives them (no clipping): AdamW's first step
    is almost blind to the gradient's scale, so a wrong scale (an all-reduce in the gather's
    backward doubles the CLIP gradients) would not show in the parameters after it."""
    outputs = {}
    outputs[1], (one,) = first_gradients(synthetic, 1, "ddp1", tmp_path / "1")
    outputs[2], two = first_gradients(synthetic, 2, "ddp2", tmp_path / "2")
    assert len(step_losses(outputs[1])) == 1
    assert step_losses(outputs[1]) == pytest.approx(step_losses(outputs[2]), abs=1e-5)
    assert sum(bool(grad.any()) for grad in one.values()) > 0.9 * len(one)
    for rank in (0, 1):
        assert two[rank].keys() == one.keys()
        for name, a in one.items():
            torch.testing.assert_close(two[rank][name], a, rtol=1e-3, atol=1e-6, msg=lambda m: f"{name}: {m}")
    # AdamW's first step is lr g / (|g| + eps): where |g| is near eps (1e-6) a float-order difference in g,
    # which the gradient check above allows, moves the step by lr dg / eps (1e-5 seen); the parameters
    # must agree to a tenth of the step (lr 1e-3), which a wrong learning rate or a skipped parameter exceeds
    assert_same_parameters(model_state(outputs[1]), model_state(outputs[2]), atol=1e-4)
    assert json.loads((outputs[2] / "config.json").read_text())["world_size"] == 2
    metrics = (outputs[1] / "metrics.json").read_text()  # the finished 1-process run resumed by 2: the same plan
    torchrun(synthetic, 2, "main_task_retrieval", outputs[1], tmp_path / "resume", "--resume")
    assert "resuming with 2 processes, started with 1" in (outputs[1] / "log.txt").read_text()
    assert json.loads((outputs[1] / "metrics.json").read_text()) == json.loads(metrics)


def test_nan_loss_stops_with_the_step_and_keeps_the_last_checkpoint(synthetic, monkeypatch, capsys):
    output = synthetic["root"] / "diverged"
    original = head_base.symmetric_infonce
    calls = []

    def diverging_loss(*args):
        calls.append(1)
        loss = original(*args)
        return loss * float("nan") if len(calls) == 3 else loss

    monkeypatch.setattr(head_base, "symmetric_infonce", diverging_loss)
    code = main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "2", "--batch_size", "8"))
    assert code == 1
    error = capsys.readouterr().err
    assert "loss is nan at step 3 (epoch 2)" in error and "checkpoint_last.pt" in error
    checkpoint = load_checkpoint(str(output / "checkpoint_last.pt"))
    assert checkpoint["epoch"] == 1 and checkpoint["step"] == 2
    assert all(torch.isfinite(v).all() for v in checkpoint["model"].values() if v.is_floating_point())


def test_bad_init_model_is_a_clear_error(synthetic, straight_run, capsys):
    args = eval_args(synthetic, synthetic["root"] / "bad", "--init_model", str(synthetic["root"] / "none.pt"))
    with pytest.raises(SystemExit) as exit_info:  # its config is read with the flags
        main_task_retrieval.main(args)
    assert exit_info.value.code == 2
    assert "checkpoint not found" in capsys.readouterr().err
    args = eval_args(synthetic, synthetic["root"] / "bad", "--init_model", str(straight_run / "checkpoint_best.pt"),
                     "--sim_header", "meanP")
    assert main_task_retrieval.main(args) == 2
    error = capsys.readouterr().err
    assert "does not match the requested architecture" in error and "not in model: head." in error


def test_eval_with_other_model_flags_than_the_checkpoint_is_a_clear_error(synthetic, straight_run, capsys):
    """Same parameter shapes, other computation: loading would work and give other numbers.
    (--dllfa_fusion: tests/test_eval_only.py, on a run with a fixed fusion weight.)"""
    args = eval_args(synthetic, synthetic["root"] / "flags", "--init_model", str(straight_run / "checkpoint_best.pt"),
                     "--temporal_centering")
    assert main_task_retrieval.main(args) == 2
    error = capsys.readouterr().err
    assert "--temporal_centering: True here, False in the checkpoint" in error
    assert not (synthetic["root"] / "flags" / "metrics.json").exists()


def before_the_gather(name: str) -> bool:
    """Parameters whose output is gathered: CLIP's encoders and the temporal encoder (not the logit scale)."""
    return (name.startswith("backbone.") and not name.endswith("logit_scale")) or name.startswith("head.temporal.")


def test_clip4clip_trains_with_its_gradient_at_its_gpu_count_on_any_number_of_processes(synthetic, tmp_path):
    """CLIP4Clip's gather trains what runs before it with the global loss's gradient / its GPU count;
    --reference_gpus 4 gives that on 2 processes: 1/4 of the true gradient (the 1-process run with
    --reference_gpus 1), while what runs after the gather (logit scale, attention levels) keeps the true
    gradient. fp16 CLIP: tolerances of fp16 sums over other batch splits, far below the factor 2 that a
    gather summing the gradient over the ranks would give."""
    recipe = ("--optimizer", "clip4clip")
    _, (true,) = first_gradients(synthetic, 1, "clip4clip_1", tmp_path / "1", *recipe)
    output, scaled = first_gradients(synthetic, 2, "clip4clip_2", tmp_path / "2", *recipe, "--reference_gpus", "4")
    assert json.loads((output / "config.json").read_text())["reference_gpus"] == 4
    before = [name for name in true if before_the_gather(name)]
    assert any(name.startswith("head.temporal.") for name in before) and "backbone.clip.logit_scale" in true
    assert len(before) < len(true)
    for rank in (0, 1):
        assert scaled[rank].keys() == true.keys()
        for name, grad in true.items():
            expected = (grad.float() / 4 if name in before else grad.float())
            tolerance = 2e-2 * float(expected.abs().max())
            torch.testing.assert_close(scaled[rank][name].float(), expected, rtol=2e-2, atol=tolerance,
                                       msg=lambda m: f"{name}: {m}")
