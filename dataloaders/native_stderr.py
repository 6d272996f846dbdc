"""Catch what C libraries print to stderr while they decode, so that it becomes part of our
own messages (with the dataset, id and path) instead of an anonymous line on the terminal.

libjpeg (inside OpenCV) reports corrupt entropy-coded data only by printing a warning, e.g.
"Corrupt JPEG data: 819 extraneous bytes before marker 0xd9", and returns an image anyway;
FFmpeg prints "moov atom not found" for a truncated mp4. Neither reaches Python. Inside
`captured_stderr()` file descriptor 2 points at a per-process temporary file, and the text
written there is handed back when the block ends.

The redirection is process-wide, so the block should hold only the decoder call: anything
another thread of the process writes to stderr meanwhile is captured with it (and then
reported as part of the decoder's message, not lost). A lock keeps two threads of one
process from nesting redirections. DataLoader workers are separate processes: each gets
its own temporary file on first use.
"""
import contextlib
import os
import tempfile
import threading
from typing import Iterator, List, Optional

_lock = threading.Lock()
_sink: Optional[int] = None  # file descriptor of this process's temporary file
_sink_pid: Optional[int] = None

STDERR_FD = 2


def _sink_fd() -> int:
    global _sink, _sink_pid
    if _sink_pid != os.getpid():  # first use, or a forked child that must not share the parent's file
        handle = tempfile.TemporaryFile()
        _sink, _sink_pid = os.dup(handle.fileno()), os.getpid()
        handle.close()
    return _sink


@contextlib.contextmanager
def captured_stderr() -> Iterator[List[str]]:
    """Yield a list that, after the block, holds the lines written to fd 2 inside it."""
    lines: List[str] = []
    with _lock:
        sink = _sink_fd()
        saved = os.dup(STDERR_FD)
        os.dup2(sink, STDERR_FD)
        try:
            yield lines
        finally:
            os.dup2(saved, STDERR_FD)
            os.close(saved)
            size = os.lseek(sink, 0, os.SEEK_CUR)  # fd 2 shared the sink's offset
            if size:
                text = os.pread(sink, size, 0).decode("utf-8", errors="replace")
                os.ftruncate(sink, 0)
                os.lseek(sink, 0, os.SEEK_SET)
                lines.extend(line.strip() for line in text.splitlines() if line.strip())
