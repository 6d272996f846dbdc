"""Progress of a long loop: a tqdm bar on a terminal, a plain line every N seconds elsewhere.

In a cluster job stderr is a file, and tqdm's bar there is a stream of carriage returns
(thousands of redraws in one "line"). When stderr (where tqdm draws) is not a terminal,
`progress` prints one line there every `interval` seconds instead, and one when the loop ends:

    14:02:51 epoch 1: 120/1406 (8.5%), 00:52 elapsed, 2.31 step/s, eta 09:17, loss=4.1023 lr=2.10e-05

Both kinds take the part of tqdm's interface used here: iterate, `set_postfix`, `update`,
`close`, and use as a context manager.
"""
import sys
import time
from typing import Iterable, Optional

from tqdm import tqdm

PROGRESS_LINE_SECONDS = 30.0


class ProgressLines:
    """A line on stderr every `interval` seconds (and at the end) for a loop of `total` steps."""

    def __init__(self, iterable: Optional[Iterable], desc: str, total: Optional[int], unit: str, interval: float):
        self.iterable, self.desc, self.unit, self.interval = iterable, desc, unit, interval
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total = total
        self.count = 0
        self.postfix = ""
        self.start = self.last_line = time.monotonic()
        self.closed = False

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __len__(self) -> int:
        return self.total

    def __enter__(self) -> "ProgressLines":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def set_postfix(self, **values) -> None:
        self.postfix = " ".join(f"{key}={value}" for key, value in values.items())

    def update(self, steps: int = 1) -> None:
        self.count += steps
        if time.monotonic() - self.last_line >= self.interval:
            self._log()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._log()

    def _log(self) -> None:
        now = time.monotonic()
        self.last_line = now
        elapsed = now - self.start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        done = f"{self.count}/{self.total} ({100 * self.count / self.total:.1f}%)" if self.total else str(self.count)
        line = f"{self.desc}: {done}, {tqdm.format_interval(elapsed)} elapsed, {rate:.2f} {self.unit}/s"
        if self.total and rate > 0 and self.count < self.total:
            line += f", eta {tqdm.format_interval((self.total - self.count) / rate)}"
        print(time.strftime("%H:%M:%S"), line + (f", {self.postfix}" if self.postfix else ""), file=sys.stderr,
              flush=True)


def progress(iterable: Optional[Iterable] = None, desc: str = "", total: Optional[int] = None, unit: str = "it",
             disable: bool = False, interval: float = PROGRESS_LINE_SECONDS):
    """tqdm(iterable, ...) when stderr (where tqdm draws) is a terminal or `disable` is set,
    else ProgressLines."""
    if disable or sys.stderr.isatty():
        return tqdm(iterable, desc=desc, total=total, unit=unit, disable=disable)
    return ProgressLines(iterable, desc, total, unit, interval)
