"""`make demo`'s path at a tiny size: generate -> extract -> train each head -> evaluate -> table and figures."""
import json
import math
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METRICS = {"R1", "R5", "R10", "MdR", "MnR", "order_contrast"}
from scripts import demo_heads


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
def test_demo_script_runs_end_to_end_and_writes_the_summary_per_head_and_caption_kind(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "DEMO_DIR": str(tmp_path / "demo"),
           "DEMO_EPOCHS": "1", "DEMO_TRAIN_VIDEOS": "32", "DEMO_VAL_VIDEOS": "4", "DEMO_TEST_VIDEOS": "10"}
    env.pop("DEMO_IMG", None)  # the default: the figures go into $DEMO_DIR/img, not into the repository
    tracked_before = git_status()
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", "demo.sh")], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert git_status() == tracked_before  # the demo changes no file of the repository (`make docs` does)

    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    heads = ("dllfa", "meanP", "seqTransf")  # the default
    assert list(summary["heads"]) == list(heads)
    for head, row in summary["heads"].items():
        assert set(row) == METRICS | {"by_caption_kind"} and set(row["by_caption_kind"]) == {"one_event", "sequence"}
        for metrics in (row, *row["by_caption_kind"].values()):
            assert set(metrics) >= METRICS and all(math.isfinite(metrics[key]) for key in METRICS), (head, metrics)
            assert 0.0 <= metrics["order_contrast"] <= 1.0 and 1.0 <= metrics["MdR"] <= 10.0
        assert all(0.0 <= summary[contrast][head] <= 1.0 for contrast in ("swap_contrast", "direction_contrast"))
    # 10 test videos: families of 2, 2, 2 and 4; the quad has sequence captions only (5 one-event each otherwise)
    assert summary["test_split"] == {"n_captions": 100, "n_videos": 10,
                                     "captions_per_kind": {"one_event": 30, "sequence": 70}}
    assert list(summary["attention_on_described_event"]) == ["dllfa"]  # meanP and seqTransf do not attend
    for level in summary["attention_on_described_event"]["dllfa"].values():
        assert level["captions"] == 30 and 0.0 <= level["mass"] <= 1.0 and 1 / 3 <= level["uniform"] <= 1 / 2
    assert summary["flags"] == {head: f"--sim_header {head}" for head in heads}
    assert set(summary["wall_seconds"]) == set(heads)
    table = (tmp_path / "demo" / "summary.md").read_text()
    assert all(f"| {head} |" in table for head in heads) and table in result.stdout
    for name in ("demo_curves.png", "demo_attention.png", "dllfa_architecture.png"):
        image = tmp_path / "demo" / "img" / name
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    for head in heads:
        steps = [json.loads(line) for line in (tmp_path / "demo" / head / "train_steps.jsonl").read_text().splitlines()]
        assert len(steps) == 1 and math.isfinite(steps[0]["loss"])
        assert (tmp_path / "demo" / head / "checkpoint_best.pt").is_file()


@pytest.mark.parametrize("name,flags", [("dllfa_no_temporal", "--sim_header dllfa --dllfa_no_temporal"),
                                        ("dllfa_frame", "--sim_header dllfa --dllfa_levels frame"),
                                        ("dllfa_token", "--sim_header dllfa --dllfa_levels token"),
                                        ("xpool", "--sim_header xpool")])
def test_head_names_map_to_the_flags_the_driver_accepts(name, flags, capsys):
    from driver.flags import get_args
    assert demo_heads.main([name]) == 0
    assert capsys.readouterr().out.strip() == flags
    args = get_args(["--do_train", "--data_path", ".", "--features_path", ".", "--output_dir", ".", *flags.split()])
    assert args.sim_header == flags.split()[1]


def test_unknown_head_name_is_refused_with_the_known_ones(capsys):
    assert demo_heads.main(["dllfa_tokens"]) == 2
    assert "dllfa_token" in capsys.readouterr().err
