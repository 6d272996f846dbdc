"""The driver end to end on a tiny synthetic dataset: DDP equivalence, exact resume,
eval-only reproduction, NaN stop, bad --init_model."""
import json
import os
import subprocess
import sys

import pytest
import torch

import main_task_retrieval
from driver import train as driver_train
from modules import retrieval_model
from modules.checkpointing import load_checkpoint
from preprocess.extract_frames import extract_frames
from preprocess.make_synthetic_dataset import make_synthetic_dataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    data = make_synthetic_dataset(str(root / "data"), train_videos=22, val_videos=0, test_videos=6,
                                  captions_per_video=1, size=16, event_seconds=2, min_events=2, max_events=2,
                                  fps=2, seed=0)
    extract_frames(data["videos_dir"], str(root / "frames"), fps=1, short_side=16)
    return {"annotations": data["annotations_dir"], "frames": str(root / "frames"), "root": root}


def driver_args(synthetic, output_dir, *extra):
    return ["--do_train", "--data_path", synthetic["annotations"], "--features_path", synthetic["frames"],
            "--output_dir", str(output_dir), "--pretrained_clip_name", "tiny", "--max_words", "12",
            "--max_frames", "3", "--cross_num_hidden_layers", "1", "--num_thread_reader", "0",
            "--batch_size_val", "4", "--lr", "1e-3", "--coef_lr", "1", "--seed", "7", *extra]


def model_state(output_dir):
    return load_checkpoint(os.path.join(output_dir, "checkpoint_last.pt"))["model"]


def assert_same_parameters(a, b, atol):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=atol, rtol=0), key


def step_losses(output_dir):
    with open(os.path.join(output_dir, "train_steps.jsonl")) as handle:
        return [json.loads(line)["loss"] for line in handle]


@pytest.fixture(scope="module")
def straight_run(synthetic):
    output = synthetic["root"] / "straight"
    assert main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "2", "--batch_size", "8")) == 0
    return output


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


def test_resume_continues_exactly(synthetic, straight_run, monkeypatch):
    output = synthetic["root"] / "resumed"
    original = driver_train.train_one_epoch
    calls = []

    def preempted_after_first_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("preempted")
        return original(*args, **kwargs)

    monkeypatch.setattr(driver_train, "train_one_epoch", preempted_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "2", "--batch_size", "8"))
    monkeypatch.undo()
    assert load_checkpoint(str(output / "checkpoint_last.pt"))["epoch"] == 1
    assert main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "2", "--batch_size", "8",
                                                "--resume")) == 0
    assert_same_parameters(model_state(straight_run), model_state(output), atol=0)
    assert step_losses(output) == step_losses(straight_run)


def test_eval_only_reproduces_the_final_metrics(synthetic, straight_run):
    output = synthetic["root"] / "eval_only"
    args = driver_args(synthetic, output, "--init_model", str(straight_run / "checkpoint_best.pt"))
    args[args.index("--do_train")] = "--do_eval"
    assert main_task_retrieval.main(args) == 0
    final = json.loads((straight_run / "metrics.json").read_text())
    again = json.loads((output / "metrics.json").read_text())
    assert again == final


def test_two_processes_match_one_process(synthetic):
    """One optimizer step on the same global batch of 22 pairs: 1 process vs torchrun with 2."""
    outputs = {}
    for processes in (1, 2):
        output = synthetic["root"] / f"ddp{processes}"
        args = driver_args(synthetic, output, "--epochs", "1", "--batch_size", "22", "--warmup_proportion", "0")
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                   os.path.join(REPO, "main_task_retrieval.py"), *args]
        environment = {**os.environ, "OMP_NUM_THREADS": "1"}
        result = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        outputs[processes] = output
    assert len(step_losses(outputs[1])) == 1
    assert step_losses(outputs[1]) == pytest.approx(step_losses(outputs[2]), abs=1e-5)
    assert_same_parameters(model_state(outputs[1]), model_state(outputs[2]), atol=1e-5)
    assert json.loads((outputs[2] / "config.json").read_text())["world_size"] == 2


def test_nan_loss_stops_with_the_step_and_keeps_the_last_checkpoint(synthetic, monkeypatch, capsys):
    output = synthetic["root"] / "diverged"
    original = retrieval_model.symmetric_infonce
    calls = []

    def diverging_loss(*args):
        calls.append(1)
        loss = original(*args)
        return loss * float("nan") if len(calls) == 3 else loss

    monkeypatch.setattr(retrieval_model, "symmetric_infonce", diverging_loss)
    code = main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "2", "--batch_size", "8"))
    assert code == 1
    error = capsys.readouterr().err
    assert "loss is nan at step 3 (epoch 2)" in error and "checkpoint_last.pt" in error
    checkpoint = load_checkpoint(str(output / "checkpoint_last.pt"))
    assert checkpoint["epoch"] == 1 and checkpoint["step"] == 2
    assert all(torch.isfinite(v).all() for v in checkpoint["model"].values() if v.is_floating_point())


def test_bad_init_model_is_a_clear_error(synthetic, straight_run, capsys):
    args = driver_args(synthetic, synthetic["root"] / "bad", "--init_model", str(synthetic["root"] / "none.pt"))
    args[args.index("--do_train")] = "--do_eval"
    assert main_task_retrieval.main(args) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    args = driver_args(synthetic, synthetic["root"] / "bad", "--init_model", str(straight_run / "checkpoint_best.pt"),
                       "--sim_header", "meanP")
    args[args.index("--do_train")] = "--do_eval"
    assert main_task_retrieval.main(args) == 2
    error = capsys.readouterr().err
    assert "does not match the requested architecture" in error and "not in model: head." in error


def test_eval_with_other_model_flags_than_the_checkpoint_is_a_clear_error(synthetic, straight_run, capsys):
    """Same parameter shapes, other computation: loading would work and give other numbers."""
    args = driver_args(synthetic, synthetic["root"] / "flags", "--init_model", str(straight_run / "checkpoint_best.pt"),
                       "--temporal_centering", "--dllfa_fusion", "0.3")
    args[args.index("--do_train")] = "--do_eval"
    assert main_task_retrieval.main(args) == 2
    error = capsys.readouterr().err
    assert "--temporal_centering: True here, False in the checkpoint" in error
    assert "--dllfa_fusion: 0.3 here, 0.5 in the checkpoint" in error
    assert not (synthetic["root"] / "flags" / "metrics.json").exists()
