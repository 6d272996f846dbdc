"""bench/gpu_check.sh in its dry mode: every stage of the GPU check on the CPU at toy size (2 gloo
processes), so that the check works before GPU time is spent on it."""
import json
import math
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "bench", "gpu_check.sh")


@pytest.mark.slow
def test_dry_run_times_every_recipe_and_runs_the_launcher(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable}
    result = subprocess.run(["bash", SCRIPT, "--dry"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["mode"] == "dry" and report["processes"] == 2
    runs = report["steps"]["runs"]
    assert [(run["optimizer"], run["precision"], run["processes"]) for run in runs] == [
        ("clip4clip", "fp32", 2), ("adamw", "bf16", 2), ("adamw", "fp16", 2)]
    for run in runs:
        parts = [run[key] for key in ("data_seconds", "forward_backward_seconds", "optimizer_seconds")]
        assert all(part > 0 for part in parts) and math.isclose(sum(parts), run["step_seconds"], rel_tol=0.01, abs_tol=2e-4)
        assert run["optimizer_steps"] == 2 and run["flops_per_clip"] > 0 and run["clips_per_s"] > 0
    assert runs[0]["product_dtype"] == "fp16"  # clip4clip's CLIP weights
    launcher = report["launcher"]
    assert launcher["status"] == 0 and launcher["steps"] == 4  # 16 videos x 2 captions, global batch 8
    assert all(math.isfinite(launcher["metrics"]["t2v"][key]) for key in ("R1", "R5", "R10", "MdR", "MnR"))
    assert "| clip4clip | fp32 | 8 |" in result.stdout and "Launcher scripts/train_msrvtt_9k.sh" in result.stdout


@pytest.mark.skipif(os.path.isdir(os.path.join(REPO, ".whl")), reason="a checkout with .whl/ installs the wheels")
def test_without_open_clip_or_wheels_it_says_so_in_one_line(tmp_path):
    fake = tmp_path / "site" / "open_clip"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = {**os.environ, "PYTHONPATH": str(fake.parent), "PYTHON": sys.executable}
    result = subprocess.run(["bash", SCRIPT, "--dry"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "make gpu-wheels" in result.stderr
