import json
import os

import numpy as np
import pytest

from modules.errors import InputError
from modules.metrics import main, order_contrast_accuracy, retrieval_metrics

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "msrvtt_1ka_sim_b32.npy")


def test_published_msrvtt_matrix_gives_the_fixture_values(capsys):
    assert main([FIXTURE, "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    expected = {"t2v": (48.0, 73.0, 82.9, 2.0, 13.129, 0), "v2t": (46.0, 74.1, 82.8, 2.0, 8.674, 9)}
    for direction, values in expected.items():
        got = metrics[direction]
        assert [round(got[k], 3) for k in ("R1", "R5", "R10", "MdR", "MnR")] == list(values[:5])
        assert got["ties"] == values[5]


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


def test_multi_caption_cli_with_index_file(tmp_path, capsys):
    sim = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    np.save(tmp_path / "sim.npy", sim)
    (tmp_path / "index.txt").write_text("0\n0\n1\n1\n2\n2\n")
    assert main([str(tmp_path / "sim.npy"), "--caption_video_index", str(tmp_path / "index.txt")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("t2v  R@1") and lines[1].startswith("v2t  R@1")


@pytest.mark.parametrize("sim,index,message", [
    (np.zeros((3, 4)), None, "non-square"),
    (np.zeros((3, 2)), np.array([0, 1]), "2 entries for 3 captions"),
    (np.zeros((3, 2)), np.array([0, 0, 0]), "no caption"),
    (np.array([[np.nan]]), None, "non-finite"),
])
def test_bad_input_is_a_clear_error(sim, index, message):
    with pytest.raises(InputError, match=message):
        retrieval_metrics(sim, index)


def test_cli_unreadable_file_exits_2(tmp_path, capsys):
    (tmp_path / "bad.npy").write_text("not numpy")
    assert main([str(tmp_path / "bad.npy")]) == 2
    assert "bad.npy" in capsys.readouterr().err
