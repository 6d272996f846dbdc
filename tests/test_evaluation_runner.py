"""Sharded evaluation (driver/evaluation_runner.py) under torchrun, end to end."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import main_task_retrieval
from preprocess.extract_frames import extract_frames
from preprocess.make_synthetic_dataset import make_synthetic_dataset
from tests.support.driver_runs import driver_args, read_jsonl

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_three_processes_train_and_evaluate_splits_of_two_videos_like_one(tmp_path):
    """More processes than validation or test videos: the third process's shards are empty. Training
    and evaluation finish under torchrun with 3 processes and give the metrics of 1 process. The head
    keeps the plain frames beside the encoded ones ([N, T, 2D] from encode_video), which the gathers
    and the empty shards carry as they carry [N, T, D]."""
    data = make_synthetic_dataset(str(tmp_path / "data"), train_videos=12, val_videos=2, test_videos=2,
                                  captions_per_video=1, size=16, event_seconds=2, min_events=2, max_events=2,
                                  fps=2, seed=0)
    extract_frames(data["videos_dir"], str(tmp_path / "frames"), fps=1, short_side=16)
    synthetic = {"annotations": data["annotations_dir"], "frames": str(tmp_path / "frames")}
    flags = ("--msrvtt_split", "full", "--epochs", "1", "--batch_size", "6", "--batch_size_val", "1", "--save_sim",
             "--dllfa_token_frames", "plain")
    assert main_task_retrieval.main(driver_args(synthetic, tmp_path / "one", *flags)) == 0
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=3",
               "-m", "main_task_retrieval", *driver_args(synthetic, tmp_path / "three", *flags)]
    result = subprocess.run(command, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    one, three = (json.loads((tmp_path / run / "metrics.json").read_text()) for run in ("one", "three"))
    assert one["split"] == "test" and one["n_videos"] == 2
    assert three == one
    sims = [np.load(tmp_path / run / "sim_matrix.npy") for run in ("one", "three")]
    np.testing.assert_allclose(sims[1], sims[0], atol=1e-5)  # the same model up to rounding, all scores
    history = [read_jsonl(tmp_path / run, "metrics_history.jsonl")[0] for run in ("one", "three")]
    assert history[0]["split"] == "val" and history[0]["n_videos"] == 2
    assert history[1].pop("loss") == pytest.approx(history[0].pop("loss"), abs=1e-5)
    assert history[1] == history[0]
