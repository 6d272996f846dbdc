"""What a run writes into its `--output_dir` besides checkpoints: the log and JSON files."""
import json
import logging
import os
import sys
from typing import Dict

from modules.atomic_file import atomic_path

LOG = logging.getLogger("dllfa")


def setup_logging(output_dir: str, is_main: bool) -> None:
    LOG.setLevel(logging.INFO if is_main else logging.WARNING)
    LOG.handlers.clear()
    LOG.propagate = False
    formatter = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
    handlers = [logging.StreamHandler(sys.stdout)]
    if is_main:
        handlers.append(logging.FileHandler(os.path.join(output_dir, "log.txt")))
    for handler in handlers:
        handler.setFormatter(formatter)
        LOG.addHandler(handler)


def write_json(path: str, content: Dict) -> None:
    with atomic_path(path) as temporary, open(temporary, "w") as handle:
        json.dump(content, handle, indent=2)
