"""What a run writes into its `--output_dir` besides checkpoints: the log and JSON files."""
import json
import logging
import os
import shutil
import sys
from typing import Dict, List

from modules.atomic_file import atomic_path
from driver.checkpoints import BEST, LAST

# This repository's loggers: "dllfa" (the driver's progress) and the module loggers of dataloaders/
# (skipped videos, unreadable frames, partial extractions: dataloaders.video_source, .registry).
PROJECT_LOGGERS = ("dllfa", "dataloaders")
_handlers: List[logging.Handler] = []  # what the last setup_logging attached to the root logger


class _CurrentStdoutHandler(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is when a record arrives (a caller may swap it)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _):
        pass


class _LevelFormatter(logging.Formatter):
    """'14:02:51 message', with 'warning: ' or 'error: ' before the message of those levels."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno < logging.WARNING:
            return text
        time_part, _, message = text.partition(" ")
        return f"{time_part} {record.levelname.lower()}: {message}"


CONFIG, LOG_FILE, METRICS, TENSORBOARD = "config.json", "log.txt", "metrics.json", "tensorboard"
STEP_LOG, HISTORY = "train_steps.jsonl", "metrics_history.jsonl"  # one line per step / per epoch
# A folder holding one of these holds a run's results: a new run must not overwrite it by accident.
RESULT_FILES = (LAST, BEST, METRICS, HISTORY, STEP_LOG)
# Everything a run writes (evaluate.py writes the two .npy files with --save_sim).
RUN_FILES = RESULT_FILES + (CONFIG, LOG_FILE, TENSORBOARD, "sim_matrix.npy", "caption_video_index.npy")


def setup_logging(output_dir: str, is_main: bool) -> None:
    """Send every warning the user sees to stdout and, on the main process, to
    output_dir/log.txt: INFO and up of the project's loggers (WARNING and up on the other
    ranks), WARNING and up of any other library, and Python warnings. The handlers sit on
    the root logger, so forked DataLoader workers inherit them (their warnings about
    unreadable frames land in the same log.txt, appended line by line). A second call
    replaces the handlers of the first."""
    root = logging.getLogger()
    for handler in _handlers:
        root.removeHandler(handler)
        handler.close()
    _handlers.clear()
    _handlers.append(_CurrentStdoutHandler())
    if is_main:
        _handlers.append(logging.FileHandler(os.path.join(output_dir, LOG_FILE)))
    formatter = _LevelFormatter("%(asctime)s %(message)s", "%H:%M:%S")
    for handler in _handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if is_main else logging.WARNING)
    logging.captureWarnings(True)


def write_json(path: str, content: Dict) -> None:
    with atomic_path(path) as temporary, open(temporary, "w") as handle:
        json.dump(content, handle, indent=2)


def write_config(output_dir: str, config: Dict) -> None:
    """config.json: written when the run starts, or when a resume has checked its plan and data."""
    write_json(os.path.join(output_dir, CONFIG), config)


def present(output_dir: str, names) -> List[str]:
    return [name for name in names if os.path.exists(os.path.join(output_dir, name))]


def remove_run_files(output_dir: str) -> List[str]:
    """Delete what an earlier run wrote into `output_dir` (RUN_FILES, nothing else); return the names."""
    removed = present(output_dir, RUN_FILES)
    for name in removed:
        path = os.path.join(output_dir, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    return removed


def _entry_at_most(line: str, key: str, last: int) -> bool:
    try:
        return line.endswith("\n") and json.loads(line)[key] <= last
    except (ValueError, KeyError, TypeError):  # a line cut short by a kill
        return False


def truncate_jsonl(path: str, key: str, last: int) -> int:
    """Keep the lines of a JSON-lines log whose `key` is at most `last` (what a checkpoint covers);
    drop the rest, and a line cut short by a kill. Return how many lines were dropped."""
    if not os.path.isfile(path):
        return 0
    with open(path) as handle:
        lines = handle.readlines()
    kept = [line for line in lines if _entry_at_most(line, key, last)]
    if len(kept) < len(lines):
        with atomic_path(path) as temporary, open(temporary, "w") as handle:
            handle.writelines(kept)
    return len(lines) - len(kept)
