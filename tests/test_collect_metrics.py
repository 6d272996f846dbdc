"""scripts/collect_metrics.py: one row per metrics.json, saying how its epoch was selected."""
import json

from scripts import collect_metrics

DIRECTION = {"R1": 40.0, "R5": 70.0, "R10": 80.0, "MdR": 2.0, "MnR": 15.0}


def write_run(folder, selection):
    folder.mkdir()
    report = {"dataset": "msrvtt", "split": "test", "t2v": DIRECTION, "v2t": DIRECTION,
              **({"selection": selection} if selection else {})}
    (folder / "metrics.json").write_text(json.dumps(report))
    (folder / "config.json").write_text(json.dumps({"sim_header": "dllfa"}))
    return str(folder / "metrics.json")


def test_each_row_says_which_selection_chose_its_epoch(tmp_path, capsys):
    paths = [write_run(tmp_path / "on_test", {"rule": "best_t2v_R1", "split": "test", "n_videos": 1000, "epoch": 3}),
             write_run(tmp_path / "held_out", {"rule": "best_t2v_R1", "split": "holdout_val", "n_videos": 500,
                                               "epoch": 2}),
             write_run(tmp_path / "last", {"rule": "last_epoch", "epoch": 5}),
             write_run(tmp_path / "unsaid", None)]
    assert collect_metrics.main(paths) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].endswith("| order contrast | selected on |")
    assert rows[2].startswith("| on_test | dllfa | msrvtt test | 40.0 |")
    assert [row.rsplit("|", 2)[1].strip() for row in rows[2:]] == [
        "test (1000 videos), epoch 3", "holdout_val (500 videos), epoch 2", "last epoch (5)", ""]
