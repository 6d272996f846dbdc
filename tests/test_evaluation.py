import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import main_task_retrieval
from dataloaders.retrieval_split import RetrievalSplit
from modules.contrastive_loss import dual_softmax
from modules.evaluation import evaluation_report
from modules.metrics import retrieval_metrics
from preprocess.extract_frames import extract_frames
from preprocess.make_synthetic_dataset import make_synthetic_dataset
from tests.driver_runs import driver_args, read_jsonl

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _split(n_videos, index):
    return RetrievalSplit(dataset="msrvtt", name="test", video_ids=[f"video{i}" for i in range(n_videos)],
                          captions=[f"caption {i}" for i in range(len(index))],
                          caption_video_index=np.asarray(index, dtype=np.int64))


def test_report_keeps_plain_dual_softmax_and_order_contrast_apart():
    rng = np.random.default_rng(0)
    index = [0, 0, 1, 2, 2, 3]
    sim = rng.uniform(-1, 1, size=(6, 4)).astype(np.float32)
    report = evaluation_report(sim, _split(4, index), twins={"reversed": np.array([1, 0, -1, -1])}, with_dual_softmax=True)
    plain = retrieval_metrics(sim, np.array(index))
    assert report["t2v"] == plain["t2v"] and report["v2t"] == plain["v2t"]
    assert report["n_captions"] == 6 and report["n_videos"] == 4
    # captions 0, 1 belong to video 0 (twin 1) and caption 2 to video 1 (twin 0)
    expected = np.mean([1.0 if sim[c, v] > sim[c, t] else 0.0 for c, v, t in ((0, 0, 1), (1, 0, 1), (2, 1, 0))])
    assert report["order_contrast"] == pytest.approx(expected)
    scores = torch.from_numpy(sim)
    t2v = retrieval_metrics(dual_softmax(scores).numpy(), np.array(index))["t2v"]
    v2t = retrieval_metrics(dual_softmax(scores.T).T.numpy(), np.array(index))["v2t"]
    assert report["dual_softmax"] == {"t2v": t2v, "v2t": v2t}


def test_report_without_twins_or_dual_softmax_has_only_plain_metrics():
    sim = np.eye(3, dtype=np.float32)
    report = evaluation_report(sim, _split(3, [0, 1, 2]), twins={}, with_dual_softmax=False)
    assert "order_contrast" not in report and "dual_softmax" not in report
    assert report["t2v"]["R1"] == 100.0


def test_three_processes_train_and_evaluate_splits_of_two_videos_like_one(tmp_path):
    """More processes than validation or test videos: the third process's shards are empty. Training
    and evaluation finish under torchrun with 3 processes and give the metrics of 1 process."""
    data = make_synthetic_dataset(str(tmp_path / "data"), train_videos=12, val_videos=2, test_videos=2,
                                  captions_per_video=1, size=16, event_seconds=2, min_events=2, max_events=2,
                                  fps=2, seed=0)
    extract_frames(data["videos_dir"], str(tmp_path / "frames"), fps=1, short_side=16)
    synthetic = {"annotations": data["annotations_dir"], "frames": str(tmp_path / "frames")}
    flags = ("--msrvtt_split", "full", "--epochs", "1", "--batch_size", "6", "--batch_size_val", "1", "--save_sim")
    assert main_task_retrieval.main(driver_args(synthetic, tmp_path / "one", *flags)) == 0
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=3",
               os.path.join(REPO, "main_task_retrieval.py"), *driver_args(synthetic, tmp_path / "three", *flags)]
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
