import json
import os

import numpy as np

from scripts.compute_metrics import main

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "msrvtt_1ka_sim_b32.npy")


def test_published_msrvtt_matrix_gives_the_fixture_values(capsys):
    assert main([FIXTURE, "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    expected = {"t2v": (48.0, 73.0, 82.9, 2.0, 13.129, 0), "v2t": (46.0, 74.1, 82.8, 2.0, 8.674, 9)}
    for direction, values in expected.items():
        got = metrics[direction]
        assert [round(got[k], 3) for k in ("R1", "R5", "R10", "MdR", "MnR")] == list(values[:5])
        assert got["ties"] == values[5]


def test_multi_caption_cli_with_index_file(tmp_path, capsys):
    sim = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    np.save(tmp_path / "sim.npy", sim)
    (tmp_path / "index.txt").write_text("0\n0\n1\n1\n2\n2\n")
    assert main([str(tmp_path / "sim.npy"), "--caption_video_index", str(tmp_path / "index.txt")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("t2v  R@1") and lines[1].startswith("v2t  R@1")


def test_cli_shared_tie_rule(tmp_path, capsys):
    np.save(tmp_path / "sim.npy", np.array([[0.5, 0.5], [0.1, 0.9]], dtype=np.float32))
    assert main([str(tmp_path / "sim.npy"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["t2v"]["R1"] == 100.0
    assert main([str(tmp_path / "sim.npy"), "--tie_rule", "shared", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["t2v"]["R1"] == 75.0  # caption 0 ties: half a hit


def test_cli_unreadable_file_exits_2(tmp_path, capsys):
    (tmp_path / "bad.npy").write_text("not numpy")
    assert main([str(tmp_path / "bad.npy")]) == 2
    assert "bad.npy" in capsys.readouterr().err
