"""bench/gpu_check.sh runs every step and writes its one JSON file (CPU smoke run at toy sizes)."""
import json
import math
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_gpu_check_smoke_run_writes_all_three_results(tmp_path):
    env = {**os.environ, "GPU_CHECK_SMOKE": "1", "OUT": str(tmp_path), "PYTHON": sys.executable}
    result = subprocess.run(["bash", os.path.join(REPO, "bench", "gpu_check.sh")], env=env, capture_output=True,
                            text=True, timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["gpu"] == "CPU smoke run (GPU_CHECK_SMOKE=1)"
    step = report["train_step"]
    assert step["model"] == "tiny" and step["clips_per_s"] > 0 and 0 <= step["data_wait_share"] <= 1
    assert step["flops_per_clip"] > 0
    cases = report["eval_similarity"]["cases"]
    assert [(case["head"], case["path"]) for case in cases] == [("dllfa", "fast")]
    assert math.isfinite(cases[0]["seconds"]) and cases[0]["floor_seconds"] > 0
    run = report["torchrun"]
    assert run["steps"] == 6  # 24 train videos x 2 captions, batch 8
    assert all(math.isfinite(run["metrics"]["t2v"][key]) for key in ("R1", "R5", "R10", "MdR", "MnR"))
