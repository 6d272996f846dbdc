"""`make ablations` at a tiny size: the pixel demo with the ablation heads, the feature benchmark, one table."""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_ablation_script_writes_one_table_of_both_benchmarks(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "ABLATIONS_DIR": str(tmp_path / "ablations"),
           "ABLATION_HEADS": "meanP dllfa_token", "DEMO_EPOCHS": "1", "DEMO_TRAIN_VIDEOS": "32",
           "DEMO_VAL_VIDEOS": "4", "DEMO_TEST_VIDEOS": "10",
           "FEATURE_LEVEL_ARGS": "--heads meanP --no_fix_table --steps 1 --batch_size 8 --pool 4 --split val"}
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", "ablations.sh")], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (tmp_path / "ablations" / "ablations.md").read_text()
    assert table in result.stdout
    assert f"`python -m bench.feature_level --output {tmp_path / 'ablations' / 'feature_level'} --heads meanP" in table
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[1:] for line in table.splitlines() if line.startswith("| ")}
    assert set(rows) == {"head", "meanP", "dllfa_token"}
    assert rows["dllfa_token"][0] == "`--sim_header dllfa --dllfa_levels token`"
    assert rows["dllfa_token"][-4:] == ["not run"] * 3 + ["not run |"]  # the feature benchmark ran meanP only
    assert len(rows["meanP"]) == len(rows["head"]) == 11
    assert all(cell.replace(".", "").replace(" |", "").isdigit() for cell in rows["meanP"][1:])
    assert not (tmp_path / "ablations" / "img" / "demo_attention.png").exists()  # no dllfa run: no attention figure
