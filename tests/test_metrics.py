import math

import numpy as np
import pytest

from dataloaders.retrieval_split import RetrievalSplit
from modules.errors import InputError
from modules.metrics import dual_softmax, evaluation_report, order_contrast_accuracy, retrieval_metrics, summarize_ranks


def test_ties_count_for_the_ground_truth():
    sim = np.array([[0.5, 0.5, 0.1],
                    [0.9, 0.2, 0.2],
                    [0.0, 0.0, 0.0]])
    metrics = retrieval_metrics(sim)
    # t2v ranks: 1 (tie with video 1), 2 (and a tie with video 2), 1 (three-way tie)
    assert metrics["t2v"]["R1"] == pytest.approx(200 / 3)
    assert metrics["t2v"]["MnR"] == pytest.approx(4 / 3)
    assert metrics["t2v"]["ties"] == 3
    # v2t: video 0 -> caption 1 scores 0.9 > 0.5: rank 2; video 1: rank 2; video 2: 0.0 vs 0.1, 0.2: rank 3
    assert metrics["v2t"]["MnR"] == pytest.approx(7 / 3) and metrics["v2t"]["ties"] == 0


def test_shared_ties_count_what_a_random_order_of_the_tied_gives():
    sim = np.array([[0.5, 0.5, 0.1],
                    [0.9, 0.2, 0.2],
                    [0.0, 0.0, 0.0]])
    t2v = retrieval_metrics(sim, tie_rule="shared")["t2v"]
    # caption 0: first of two tied (1/2 a hit, expected rank 1.5); caption 1: second or third (rank 2.5);
    # caption 2: any of three (1/3 a hit, rank 2)
    assert t2v["R1"] == pytest.approx(100 * (1 / 2 + 0 + 1 / 3) / 3)
    assert t2v["R5"] == 100.0 and t2v["MnR"] == pytest.approx(2.0) and t2v["MdR"] == 2.0
    assert t2v["ties"] == 3
    # a block of four tied at ranks 4-7: two of its four positions are within the top 5
    block = summarize_ranks(np.array([4]), np.array([3]), "shared")
    assert block["R1"] == 0.0 and block["R5"] == 50.0 and block["R10"] == 100.0 and block["MnR"] == 5.5
    assert summarize_ranks(np.array([4]), np.array([3]))["R5"] == 100.0  # the ground truth's way: rank 4
    with pytest.raises(InputError, match="unknown tie rule 'random'"):
        summarize_ranks(np.array([1]), np.array([0]), "random")


def test_multi_caption_hand_built_case():
    # 3 videos, 5 captions: captions 0,1 -> video 0; 2 -> video 1; 3,4 -> video 2
    index = np.array([0, 0, 1, 2, 2])
    sim = np.array([
        [0.9, 0.1, 0.2],   # rank 1
        [0.3, 0.8, 0.1],   # rank 2
        [0.1, 0.7, 0.7],   # rank 1, tie
        [0.6, 0.5, 0.4],   # rank 3
        [0.0, 0.9, 0.5],   # rank 2
    ])
    metrics = retrieval_metrics(sim, index)
    assert metrics["t2v"]["R1"] == pytest.approx(40.0)
    assert metrics["t2v"]["MdR"] == 2.0 and metrics["t2v"]["MnR"] == pytest.approx(9 / 5)
    assert metrics["t2v"]["ties"] == 1
    # v2t: video 0 best own caption 0 (0.9): nothing else higher -> 1.
    # video 1 own caption 2 (0.7): captions 1 (0.8) and 4 (0.9) higher -> 3.
    # video 2 best own caption 4 (0.5): captions 2 (0.7) higher -> 2.
    assert metrics["v2t"]["R1"] == pytest.approx(100 / 3)
    assert metrics["v2t"]["MnR"] == pytest.approx(2.0)
    assert metrics["v2t"]["ties"] == 0


def test_order_contrast_accuracy():
    sim = np.array([[0.9, 0.1, 0.0],
                    [0.5, 0.5, 0.0],
                    [0.2, 0.8, 0.0],
                    [0.3, 0.3, 0.3]])
    index = np.array([0, 1, 0, 2])
    twins = np.array([1, 0, -1])  # videos 0 and 1 are twins; video 2 has none
    # caption 0: 0.9 > 0.1 -> 1; caption 1: tie -> 0.5; caption 2: 0.2 < 0.8 -> 0; caption 3 not counted
    assert order_contrast_accuracy(sim, index, twins) == pytest.approx(0.5)


@pytest.mark.parametrize("sim,index,message", [
    (np.zeros((3, 4)), None, "non-square"),
    (np.zeros((3, 2)), np.array([0, 1]), "2 entries for 3 captions"),
    (np.zeros((3, 2)), np.array([0, 0, 0]), "no caption"),
    (np.array([[np.nan]]), None, "non-finite"),
])
def test_bad_input_is_a_clear_error(sim, index, message):
    with pytest.raises(InputError, match=message):
        retrieval_metrics(sim, index)


def test_dual_softmax_matches_direct_formula():
    sim = np.random.default_rng(0).uniform(-1, 1, size=(4, 3))
    temperature = 0.05
    revised = dual_softmax(sim, temperature)
    for i in range(4):
        for j in range(3):
            prior = math.exp(sim[i, j] / temperature) / sum(math.exp(sim[k, j] / temperature) for k in range(4))
            assert math.isclose(revised[i, j], sim[i, j] * prior, rel_tol=1e-12)


def test_dual_softmax_default_temperature_is_one_hundredth():
    sim = np.random.default_rng(1).uniform(size=(6, 5))
    assert np.allclose(dual_softmax(sim), dual_softmax(sim, 0.01))
    assert np.allclose((dual_softmax(sim) / sim).sum(0), np.ones(5))  # prior over texts


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
    t2v = retrieval_metrics(dual_softmax(sim), np.array(index))["t2v"]
    v2t = retrieval_metrics(dual_softmax(sim.T).T, np.array(index))["v2t"]
    assert report["dual_softmax"] == {"t2v": t2v, "v2t": v2t}


def test_report_without_twins_or_dual_softmax_has_only_plain_metrics():
    sim = np.eye(3, dtype=np.float32)
    report = evaluation_report(sim, _split(3, [0, 1, 2]), twins={}, with_dual_softmax=False)
    assert "order_contrast" not in report and "dual_softmax" not in report
    assert report["t2v"]["R1"] == 100.0 and report["tie_rule"] == "ground_truth"
