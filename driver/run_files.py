"""What a run writes into its `--output_dir` besides checkpoints: the log and JSON files."""
import json
import logging
import os
import sys
from typing import Dict, List

from modules.atomic_file import atomic_path

# This repository's loggers: "dllfa" (the driver's progress) and the module loggers of its
# packages (skipped videos, unreadable frames, partial extractions: dataloaders.video_source).
PROJECT_LOGGERS = ("dllfa", "dataloaders", "modules", "driver", "preprocess")
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
        _handlers.append(logging.FileHandler(os.path.join(output_dir, "log.txt")))
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
