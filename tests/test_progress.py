"""Progress in a non-terminal stderr (a cluster log): plain timed lines, never carriage returns."""
import io
import os
import re

from tqdm import tqdm

from modules import progress as progress_module
from modules.progress import ProgressLines, progress

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_loop_prints_a_line_per_interval_and_one_at_the_end(capsys):
    bar = progress(range(4), desc="epoch 1", unit="step", interval=0)
    assert isinstance(bar, ProgressLines) and len(bar) == 4
    for step in bar:
        bar.set_postfix(loss=f"{1.0 / (step + 1):.4f}", lr="1.00e-04")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 5 and "\r" not in "".join(lines)
    assert re.fullmatch(r"\d\d:\d\d:\d\d epoch 1: 1/4 \(25\.0%\), 00:00 elapsed, [\d.]+ step/s, eta 00:00, "
                        r"loss=1\.0000 lr=1\.00e-04", lines[0])
    assert re.fullmatch(r"\d\d:\d\d:\d\d epoch 1: 4/4 \(100\.0%\), 00:00 elapsed, [\d.]+ step/s, "
                        r"loss=0\.2500 lr=1\.00e-04", lines[-1])


def test_a_long_interval_gives_only_the_final_line_and_manual_updates_count(capsys):
    with progress(desc="synthetic videos", total=6, unit="video") as bar:
        bar.update(2)
        bar.update(4)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and " synthetic videos: 6/6 (100.0%), " in lines[0]


def test_a_terminal_gets_tqdm(monkeypatch):
    terminal = io.StringIO()
    terminal.isatty = lambda: True
    monkeypatch.setattr(progress_module.sys, "stderr", terminal)
    assert isinstance(progress(range(3), desc="encode videos"), tqdm)
    assert isinstance(progress(range(3), desc="quiet", disable=True), tqdm)


def test_every_progress_bar_goes_through_the_helper():
    users = []
    for folder in ("modules", "dataloaders", "driver", "preprocess"):
        for root, _, files in os.walk(os.path.join(REPO, folder)):
            for name in files:
                path = os.path.join(root, name)
                if name.endswith(".py") and path != progress_module.__file__:
                    with open(path) as handle:
                        source = handle.read()
                    assert "tqdm" not in source, path
                    users += [os.path.relpath(path, REPO)] if "progress(" in source else []
    assert {"driver/trainer.py", "driver/evaluation_runner.py", "preprocess/extract_frames.py",
            "preprocess/synthetic/writer.py"} <= set(users)
