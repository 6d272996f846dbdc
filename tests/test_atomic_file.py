"""Atomic writes: readers see the old or the new file, permissions as `open()` gives them,
and leftovers of killed writes can be found and removed."""
import os
import stat

import pytest

from modules.atomic_file import atomic_path, remove_stale_temporaries


def write_atomically(path, text):
    with atomic_path(path) as temporary, open(temporary, "w") as handle:
        handle.write(text)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    previous = os.umask(0o022)
    yield lambda value: os.umask(value)
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002, 0o077], ids=oct)
def test_a_new_file_gets_the_mode_open_would_give(tmp_path, umask, mask):
    umask(mask)
    write_atomically(str(tmp_path / "atomic.json"), "{}")
    with open(tmp_path / "plain.json", "w") as handle:
        handle.write("{}")
    assert mode(tmp_path / "atomic.json") == mode(tmp_path / "plain.json") == 0o666 & ~mask


def test_rewriting_keeps_the_mode_of_the_existing_file(tmp_path, umask):
    path = tmp_path / "checkpoint_last.pt"
    write_atomically(str(path), "one")
    os.chmod(path, 0o640)
    write_atomically(str(path), "two")
    assert path.read_text() == "two" and mode(path) == 0o640


def test_a_writer_that_replaces_the_file_with_its_own_mode_still_gets_the_umasks(tmp_path, umask):
    umask(0o022)
    with atomic_path(str(tmp_path / "weights.bin")) as temporary:  # as safetensors' save_file does
        os.remove(temporary)
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT, 0o600))
    assert mode(tmp_path / "weights.bin") == 0o644


def test_an_error_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "metrics.json"
    write_atomically(str(path), "old")
    with pytest.raises(RuntimeError):
        with atomic_path(str(path)) as temporary:
            with open(temporary, "w") as handle:
                handle.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["metrics.json"]


def test_stale_temporaries_of_killed_writes_are_removed_and_nothing_else(tmp_path):
    keep = [".hidden", "notes.tmp", ".checkpoint_last.pt.tmp", "checkpoint_last.pt", "sub"]
    for name in keep[:-1]:
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".metrics.json.0123abcd.tmp").write_text("x")  # subfolders are not ours to clean
    with atomic_path(str(tmp_path / "checkpoint_best.pt")) as ours:  # a write killed before the rename
        stale_ours = os.path.basename(ours)
    (tmp_path / stale_ours).write_text("half")
    assert remove_stale_temporaries(str(tmp_path)) == [stale_ours]
    assert sorted(os.listdir(tmp_path)) == sorted(keep + ["checkpoint_best.pt"])
    assert remove_stale_temporaries(str(tmp_path / "missing")) == []
