"""scripts/demo_seeds.sh at a tiny size: seeds run side by side on one dataset, and a seed that fails fails the job."""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = {"DEMO_EPOCHS": "1", "DEMO_TRAIN_VIDEOS": "32", "DEMO_VAL_VIDEOS": "4", "DEMO_TEST_VIDEOS": "10",
        "DEMO_HEADS": "meanP", "DEMO_JOBS": "2"}


def run_seeds(tmp_path, seeds: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **TINY, "PYTHON": sys.executable, "SEEDS_DIR": str(tmp_path / "seeds"), "DEMO_SEEDS": seeds}
    env.pop("OMP_NUM_THREADS", None)
    return subprocess.run(["bash", os.path.join(REPO, "scripts", "demo_seeds.sh")], env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_a_failed_seed_fails_the_job_with_the_end_of_its_log_and_the_others_finish(tmp_path):
    result = run_seeds(tmp_path, "1 -1 3")  # the driver refuses a negative --seed
    assert result.returncode != 0
    assert "demo-seeds: seed -1 failed" in result.stderr and "--seed must be at least 0" in result.stderr
    assert "Traceback" not in result.stderr  # it stops there: no report over a missing seed
    for seed in ("1", "3"):  # the seeds before and after the failed one still ran to the end
        assert f"demo-seeds: seed {seed} done" in result.stdout
        assert (tmp_path / "seeds" / f"seed{seed}" / "meanP" / "metrics.json").exists()
        assert "demo: meanP trained and evaluated" in (tmp_path / "seeds" / f"seed{seed}.log").read_text()
    assert not (tmp_path / "seeds" / "seeds.md").exists()  # no table from a partial set of seeds
