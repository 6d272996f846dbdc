"""The child side of the kill harness (tests/test_train_kill_harness.py): main_task_retrieval.main in a process
that the test kills with SIGKILL at chosen points of the checkpoint writes.

Test-side patches only (product code has no hook): `torch.save` of a checkpoint writes half the
bytes, pauses, writes the rest, pauses again; `os.replace` pauses after renaming a checkpoint
into place. At each pause the child sends (point, file, epoch) with point "mid" (half written),
"written" (complete but not renamed) or "done" (renamed, the next write not begun) and waits
for the test's go-ahead, so the test kills exactly there, whatever the machine's load.
The model-selection score is scripted per epoch (SCORES), so that the best epoch is known, is
neither the first nor the last, and follows an epoch that did not improve.
"""
import io
import os
import sys

import torch

import driver.trainer
import main_task_retrieval
from driver.checkpoints import BEST, LAST

SCORES = {1: 1.0, 2: 0.5, 3: 3.0, 4: 2.0}  # epoch -> selection score: epoch 3 is the best


def checkpoint_name(path):
    """LAST or BEST for the temporary file of a checkpoint write, else None."""
    name = os.path.basename(str(path))
    return next((target for target in (LAST, BEST) if name.startswith(f".{target}.")), None)


def run_driver(argv, connection, output_log):
    log = os.open(output_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    torch.set_num_threads(1)  # every run alike; and on a loaded machine 2 threads made a run 10x slower
    save, replace, writing = torch.save, os.replace, {}

    def pause(point, name, epoch):
        connection.send((point, name, epoch))
        connection.recv()

    def slow_save(payload, target, *args, **kwargs):
        name = checkpoint_name(target)
        if name is None:
            return save(payload, target, *args, **kwargs)
        buffer = io.BytesIO()
        save(payload, buffer, *args, **kwargs)
        data = buffer.getvalue()
        writing[str(target)] = (name, payload["epoch"])
        with open(target, "wb") as handle:
            handle.write(data[:len(data) // 2])
            handle.flush()
            pause("mid", name, payload["epoch"])
            handle.write(data[len(data) // 2:])
        pause("written", name, payload["epoch"])

    def replace_and_pause(source, target):
        replace(source, target)
        if str(source) in writing:
            pause("done", *writing.pop(str(source)))

    train_epoch, state = driver.trainer.Trainer.train_epoch, {}

    def tracked_train_epoch(trainer):
        state["train"] = trainer.state
        return train_epoch(trainer)

    torch.save, os.replace = slow_save, replace_and_pause
    driver.trainer.Trainer.train_epoch = tracked_train_epoch
    driver.trainer.selection_score = lambda report: SCORES[state["train"].epoch]  # epochs finished, this one included
    sys.exit(main_task_retrieval.main(argv))
