"""Write a file so that readers see either the old complete file or the new complete one.

The new content goes to a temporary file next to the target (`.<name>.<random>.tmp`), is
flushed to disk and renamed over the target. The temporary file is created like `open()`
creates a file: mode 0666 minus the umask (so a group-readable umask gives group-readable
checkpoints), or the target's own mode when it already exists; the mode is set again after the
writer is done, because some writers replace the file with their own (safetensors' `save_file`
writes mode 0600). A process killed mid-write
leaves a temporary file behind; `remove_stale_temporaries` deletes those of a folder.
"""
import contextlib
import os
import re
import secrets
import stat
from typing import List

_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")  # `_create_temporary`'s names


def _new_sibling(path: str, name_format: str, create) -> str:
    """Create (`create(new_path)`, failing if it exists) and return a new path next to `path`
    named `name_format.format(name=<path's name>, random=<8 hex digits>)`."""
    directory, name = os.path.split(os.path.abspath(path))
    while True:
        sibling = os.path.join(directory, name_format.format(name=name, random=secrets.token_hex(4)))
        try:
            create(sibling)
            return sibling
        except FileExistsError:
            continue


def _create_temporary(path: str) -> str:
    return _new_sibling(path, ".{name}.{random}.tmp",  # the umask applies
                        lambda new: os.close(os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)))


def new_staging_folder(path: str) -> str:
    """A new empty folder `.<name>.partial-<random>` next to `path`, to be renamed to it when
    complete; its mode is what `os.mkdir` gives (0777 minus the umask)."""
    return _new_sibling(path, ".{name}.partial-{random}", os.mkdir)


def _sync_folder(directory: str) -> None:
    """Make the rename itself reach the disk (power loss); some file systems cannot sync a folder."""
    folder = os.open(directory, os.O_RDONLY)
    try:
        # where it fails, the file is complete and renamed; only its survival of a power cut is not guaranteed
        with contextlib.suppress(OSError):
            os.fsync(folder)
    finally:
        os.close(folder)


@contextlib.contextmanager
def atomic_path(path: str):
    """Yield a temporary path next to `path`; on success it replaces `path`, on error it is removed."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = _create_temporary(path)
    try:
        mode = stat.S_IMODE(os.stat(temporary).st_mode)  # 0666 minus the umask
        yield temporary
        os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else mode)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
        _sync_folder(directory)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def remove_stale_temporaries(directory: str) -> List[str]:
    """Delete the temporary files that killed atomic writes left in `directory` (not in its
    subfolders); return their names. Call it only when no write into `directory` is under way."""
    if not os.path.isdir(directory):
        return []
    stale = sorted(name for name in os.listdir(directory)
                   if _TEMPORARY.match(name) and os.path.isfile(os.path.join(directory, name)))
    for name in stale:
        os.remove(os.path.join(directory, name))
    return stale
