"""`make demo`'s path at a tiny size: generate -> extract -> train each head -> evaluate -> table and figures."""
import json
import math
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLUMNS = ("R1", "R5", "R10", "MdR", "MnR", "order_contrast")


def test_demo_script_runs_end_to_end_and_writes_finite_results(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "DEMO_DIR": str(tmp_path / "demo"), "DEMO_IMG": str(tmp_path / "img"),
           "DEMO_EPOCHS": "1", "DEMO_TRAIN_VIDEOS": "32", "DEMO_VAL_VIDEOS": "4", "DEMO_TEST_PAIRS": "3"}
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", "demo.sh")], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]

    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert set(summary["heads"]) == {"dllfa", "meanP"}
    for head, row in summary["heads"].items():
        assert all(math.isfinite(row[key]) for key in COLUMNS), (head, row)
        assert row["n_captions"] == 60 and row["n_videos"] == 6  # 3 twin pairs, 10 captions per video
        assert 0.0 <= row["order_contrast"] <= 1.0 and 1.0 <= row["MdR"] <= 6.0
    cosines = summary["dllfa_frame_cosines"]
    assert sum(group["videos"] for group in cosines.values()) == 6
    assert all(-1.0 <= group["cosine"] <= 1.0 for group in cosines.values() if group["videos"])
    table = (tmp_path / "demo" / "summary.md").read_text()
    assert "| dllfa |" in table and "| meanP |" in table and table in result.stdout
    for name in ("demo_curves.png", "demo_attention.png", "dllfa_architecture.png"):
        image = tmp_path / "img" / name
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    for head in ("dllfa", "meanP"):
        steps = [json.loads(line) for line in (tmp_path / "demo" / head / "train_steps.jsonl").read_text().splitlines()]
        assert len(steps) == 1 and math.isfinite(steps[0]["loss"])
        assert (tmp_path / "demo" / head / "checkpoint_best.pt").is_file()
