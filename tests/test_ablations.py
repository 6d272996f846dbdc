"""`make ablations` at a tiny size: the pixel demo with the ablation heads, the feature benchmark, one table."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_ablation_script_writes_one_table_of_both_benchmarks(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "ABLATIONS_DIR": str(tmp_path / "ablations"),
           "ABLATION_HEADS": "meanP dllfa_token", "DEMO_EPOCHS": "1", "DEMO_TRAIN_VIDEOS": "32",
           "DEMO_VAL_VIDEOS": "4", "DEMO_TEST_VIDEOS": "10", "DEMO_SEEDS": "1 2",
           "FEATURE_LEVEL_RESULTS": str(tmp_path / "feature_level" / "results"),
           "FEATURE_LEVEL_ARGS": "--heads meanP --no_fix_table --seeds 0 --steps 1 --batch_size 8 --pool 4 --split val"}
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", "ablations.sh")], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (tmp_path / "ablations" / "ablations.md").read_text()
    assert table in result.stdout
    assert f"`python -m bench.feature_level --output {tmp_path / 'feature_level' / 'results'} --heads meanP" in table
    assert "training seeds 1, 2" in table and "each number the mean over 4 val pools" in table  # --pools' default
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[1:] for line in table.splitlines() if line.startswith("| ")}
    assert set(rows) == {"head", "meanP", "dllfa_token"}
    assert rows["dllfa_token"][0] == "`--sim_header dllfa --dllfa_levels token`"
    assert rows["dllfa_token"][-4:] == ["not run"] * 3 + ["not run |"]  # the feature benchmark ran meanP only
    assert len(rows["meanP"]) == len(rows["head"]) == 11
    for cell in rows["meanP"][1:]:  # "mean ± std" of the two seeds
        mean, std = cell.replace(" |", "").split(" ± ")
        assert float(mean) >= 0 and float(std) >= 0
    seeds = json.loads((tmp_path / "ablations" / "seeds.json").read_text())
    assert seeds["seeds"] == [1, 2] and set(seeds["heads"]["meanP"]["R1"]["per_seed"]) == {"1", "2"}
    assert (tmp_path / "ablations" / "seed1" / "meanP" / "metrics.json").exists()
    assert not (tmp_path / "ablations" / "seed1" / "img" / "demo_attention.png").exists()  # no dllfa run: no attention figure
