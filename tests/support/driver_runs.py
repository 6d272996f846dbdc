"""Shared by the tests that run the driver (main_task_retrieval.py) end to end on the `synthetic`
fixture (tests/conftest.py): the flags of a tiny run, and readers of what a run writes."""
import json
import os

import torch

import main_task_retrieval
from driver.checkpoints import load_checkpoint


def driver_args(synthetic, output_dir, *extra):
    """A tiny training run: 22 pairs, global batch 8 unless `extra` says otherwise."""
    return ["--do_train", "--data_path", synthetic["annotations"], "--features_path", synthetic["frames"],
            "--output_dir", str(output_dir), "--pretrained_clip_name", "tiny", "--max_words", "12",
            "--max_frames", "3", "--cross_num_hidden_layers", "1", "--num_thread_reader", "0",
            "--batch_size_val", "4", "--lr", "1e-3", "--coef_lr", "1", "--seed", "7", *extra]


def trained_run(synthetic, name, *extra):
    """The folder of a finished training run with the tiny flags and `extra`."""
    output = synthetic["root"] / name
    assert main_task_retrieval.main(driver_args(synthetic, output, *extra)) == 0
    return output


def eval_args(synthetic, output_dir, *extra):
    args = driver_args(synthetic, output_dir, *extra)
    args[args.index("--do_train")] = "--do_eval"
    return args


def evaluated_metrics(output_dir):
    """An eval-only run's metrics.json without what names the evaluated checkpoint and the
    input flags given otherwise than it records: the part comparable to a training run's."""
    metrics = json.loads((output_dir / "metrics.json").read_text())
    return {key: value for key, value in metrics.items() if key not in ("init_model", "overrides")}


def model_state(output_dir, name="checkpoint_last.pt"):
    return load_checkpoint(os.path.join(output_dir, name))["model"]


def assert_same_parameters(a, b, atol):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=atol, rtol=0), key


def read_jsonl(output_dir, name):
    with open(os.path.join(output_dir, name)) as handle:
        return [json.loads(line) for line in handle]


def step_losses(output_dir):
    return [entry["loss"] for entry in read_jsonl(output_dir, "train_steps.jsonl")]
