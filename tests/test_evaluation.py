import numpy as np
import pytest
import torch

from dataloaders.retrieval_split import RetrievalSplit
from modules.contrastive_loss import dual_softmax
from modules.evaluation import evaluation_report
from modules.metrics import retrieval_metrics


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
