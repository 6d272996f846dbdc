"""driver/run_files.py: the logs a resume cuts back to its checkpoint, the files a run owns."""
import json

from driver.run_files import remove_run_files, truncate_jsonl


def test_truncate_keeps_what_the_checkpoint_covers_and_drops_a_torn_line(tmp_path):
    path = tmp_path / "train_steps.jsonl"
    lines = [json.dumps({"step": step, "loss": 1.0 / step}) + "\n" for step in (1, 2, 3, 4)]
    path.write_text("".join(lines) + '{"step": 5, "lo')  # killed while writing step 5
    assert truncate_jsonl(str(path), "step", 2) == 3
    assert path.read_text() == "".join(lines[:2])
    assert truncate_jsonl(str(path), "step", 2) == 0 and path.read_text() == "".join(lines[:2])
    assert truncate_jsonl(str(tmp_path / "missing.jsonl"), "step", 2) == 0


def test_a_complete_entry_without_its_newline_is_dropped_too(tmp_path):
    path = tmp_path / "metrics_history.jsonl"
    path.write_text('{"epoch": 1}\n{"epoch": 2}')  # appending after it would glue two entries together
    assert truncate_jsonl(str(path), "epoch", 2) == 1
    assert path.read_text() == '{"epoch": 1}\n'


def test_remove_run_files_removes_what_a_run_writes_and_nothing_else(tmp_path):
    for name in ("config.json", "log.txt", "checkpoint_last.pt", "metrics.json", "sim_matrix.npy", "notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "tensorboard").mkdir()
    (tmp_path / "tensorboard" / "events.out.tfevents.1").write_text("x")
    (tmp_path / "eval_msrvtt").mkdir()
    removed = remove_run_files(str(tmp_path))
    assert sorted(removed) == ["checkpoint_last.pt", "config.json", "log.txt", "metrics.json", "sim_matrix.npy",
                               "tensorboard"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval_msrvtt", "notes.txt"]
