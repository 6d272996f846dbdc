"""scripts/demo_seeds_report.py: several seeds' demo summaries as mean ± std, and dllfa's per-seed leads."""
import json

import pytest

from scripts.demo_seeds_report import main


def _summary(one_event: dict, order: dict) -> dict:
    def head(name):
        kinds = {"one_event": {"R1": one_event[name], "order_contrast": 0.5},
                 "sequence": {"R1": 50.0, "order_contrast": order[name]}}
        return {"R1": 40.0, "order_contrast": order[name], "by_caption_kind": kinds}
    return {"heads": {name: head(name) for name in one_event},
            "swap_contrast": dict.fromkeys(one_event, 0.5), "direction_contrast": dict.fromkeys(one_event, 0.5),
            "attention_on_described_event": {"dllfa": {"sentence": {"mass": 0.7, "uniform": 0.43}}}}


def test_mean_std_and_leads_over_seeds(tmp_path, capsys):
    values = {1: ({"dllfa": 20.0, "meanP": 10.0}, {"dllfa": 0.9, "meanP": 0.5}),
              2: ({"dllfa": 24.0, "meanP": 12.0}, {"dllfa": 0.9, "meanP": 0.5}),
              3: ({"dllfa": 22.0, "meanP": 20.0}, {"dllfa": 0.9, "meanP": 0.5})}
    for seed, (one_event, order) in values.items():
        (tmp_path / f"seed{seed}").mkdir()
        (tmp_path / f"seed{seed}" / "summary.json").write_text(json.dumps(_summary(one_event, order)))
    assert main(["--runs", str(tmp_path), "--seeds", "1", "2", "3", "--heads", "dllfa", "meanP"]) == 0
    result = json.loads((tmp_path / "seeds.json").read_text())
    dllfa = result["heads"]["dllfa"]
    assert dllfa["one_event_R1"]["mean"] == 22.0 and dllfa["one_event_R1"]["std"] == pytest.approx(2.0)
    assert dllfa["attention_sentence"]["mean"] == pytest.approx(0.7) and "attention_sentence" not in result["heads"]["meanP"]
    lead = result["leads"]["meanP"]["one_event_R1"]
    assert lead["per_seed"] == {"1": 10.0, "2": 12.0, "3": 2.0} and lead["smallest"] == 2.0
    assert lead["spread"] == pytest.approx(((4 ** 2 + 2 ** 2 + 6 ** 2) / 2) ** 0.5)  # meanP's std, the larger
    assert not lead["ahead_beyond_spread"]  # ahead on every seed, but by less than the spread on seed 3
    assert result["leads"]["meanP"]["order_contrast"]["ahead_beyond_spread"]  # 0.4 on every seed, no spread
    table = (tmp_path / "seeds.md").read_text()
    assert "| dllfa | 40.0 ± 0.0 (40.0 / 40.0 / 40.0) | 22.0 ± 2.0 (20.0 / 24.0 / 22.0) |" in table
    assert table in capsys.readouterr().out
