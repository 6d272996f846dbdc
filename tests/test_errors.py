"""An InputError raised in a DataLoader worker reaches the user as its own one line."""
import pytest
from torch.utils.data import DataLoader, Dataset

from modules.errors import InputError


class UnreadableClips(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        try:
            raise OSError("decoder gave up")
        except OSError:  # chained, as a reader's error often is
            raise InputError(f"msrvtt video{index}: no readable frame in /data/frames/video{index}")


def first_batch_error(workers: int) -> str:
    """The message of the first batch's error; the loader is shut down before this returns (a loader
    kept alive by a stored traceback would stall whichever later test the garbage collector runs in)."""
    batches = iter(DataLoader(UnreadableClips(), batch_size=2, num_workers=workers))
    try:
        next(batches)
    except InputError as error:
        return str(error)
    finally:
        del batches
    return ""


@pytest.mark.parametrize("workers", [0, 2])
def test_a_worker_error_keeps_its_original_one_line_message(workers):
    assert first_batch_error(workers) == "msrvtt video0: no readable frame in /data/frames/video0"


def test_messages_that_are_not_worker_reraises_are_kept_as_they_are():
    message = "Caught you: a message that merely starts like a re-raise\nmodules.errors.InputError: x"
    assert str(InputError(message)) == message
    assert str(InputError("two\nlines")) == "two\nlines"


class _CallsAFunction:
    def __reduce__(self):
        import os
        return (os.getcwd, ())


class _CallsAMethod:
    def __reduce__(self):
        import random
        return (random.random, ())


@pytest.mark.parametrize("payload, named", [(_CallsAFunction(), "getcwd"), (_CallsAMethod(), "GLOBAL getattr")])
def test_a_weights_only_refusal_is_summed_up_by_the_object_it_refused(tmp_path, payload, named):
    import torch
    from modules.errors import error_summary
    torch.save({"payload": payload}, tmp_path / "code.pt")
    with pytest.raises(Exception) as refused:
        torch.load(tmp_path / "code.pt", weights_only=True)
    summary = error_summary(refused.value)
    assert summary.startswith("UnpicklingError: ") and named in summary and "\n" not in summary
    assert "Weights only load failed" not in summary and "Please use" not in summary
    assert error_summary(ValueError("first line\nsecond line")) == "ValueError: first line"
    assert error_summary(KeyError()) == "KeyError: "
