"""Kill harness for driver/trainer.py's checkpoints: a run is killed (SIGKILL) at points of every
checkpoint write, resumed, killed again, ... and must end exactly as an uninterrupted run: the
same final metrics, the same logs (no step or epoch twice), the true best checkpoint, and no
temporary file left.

4 epochs with scripted selection scores (tests/support/slow_checkpoint_save.py: epoch 1 improves, 2 does
not, 3 is the best, 4 does not) write, in order, last@1, best@1, last@2, last@3, best@3, last@4.
Each write is killed at "mid" (half written) and "done" (renamed, the next write not begun), two
also at "written" (complete, not renamed): 14 kills in 4 chains (a kill in an epoch's best write
resumes after that epoch, so the other points of that write need another chain). Runs are forked
from a server that has imported the driver once, so that each takes seconds, not the
interpreter's start-up.
"""
import multiprocessing
import os
import signal

import pytest
import torch

from driver.run_files import HISTORY, STEP_LOG
from driver.checkpoints import BEST, LAST, load_checkpoint
from tests.support.driver_runs import driver_args, read_jsonl
from tests.support.slow_checkpoint_save import run_driver

pytestmark = pytest.mark.slow  # driver runs killed in subprocesses

CHAINS = {
    "A": [("mid", LAST, 1), ("done", LAST, 1), ("mid", LAST, 2), ("written", LAST, 2), ("done", LAST, 2),
          ("mid", LAST, 3), ("done", LAST, 3), ("mid", LAST, 4), ("done", LAST, 4)],
    "B": [("mid", BEST, 1), ("mid", BEST, 3)],
    "C": [("done", BEST, 1), ("written", BEST, 3)],
    "D": [("done", BEST, 3)],
}
FLAGS = ("--epochs", "4", "--batch_size", "8", "--n_display", "1", "--freeze_layer_num", "0")  # smaller checkpoints


@pytest.fixture(scope="module")
def forkserver():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["main_task_retrieval", "tests.support.slow_checkpoint_save", "torch.utils.tensorboard"])
    return context


def run_until(context, argv, output_log, kill_at=None):
    """Run the driver in a child; SIGKILL it when it reaches `kill_at`. Return "killed" or the exit code."""
    ours, theirs = context.Pipe()
    child = context.Process(target=run_driver, args=(argv, theirs, output_log))
    child.start()
    theirs.close()
    try:
        while ours.poll(300):
            try:
                point = ours.recv()
            except EOFError:
                break
            if point == kill_at:
                os.kill(child.pid, signal.SIGKILL)
                child.join()
                return "killed"
            ours.send("go")
        child.join(timeout=60)
        return child.exitcode
    finally:
        if child.is_alive():
            child.kill()


def run_chain(context, synthetic, output, kills):
    """Kill at each point of `kills` in turn, restarting as a user would; then run to the end."""
    log = str(output) + ".out"
    for kill_at in kills + [None]:
        extra = ["--resume"] if (output / LAST).exists() else ["--overwrite_output_dir"] if output.exists() else []
        result = run_until(context, driver_args(synthetic, output, *FLAGS, *extra), log, kill_at)
        assert result == ("killed" if kill_at else 0), (kill_at, open(log).read()[-3000:])


def test_killed_checkpoint_writes_then_resume_end_as_an_uninterrupted_run(forkserver, synthetic):
    reference = synthetic["root"] / "uninterrupted"
    run_chain(forkserver, synthetic, reference, [])
    best = load_checkpoint(str(reference / BEST))
    assert best["epoch"] == 3 and best["score"] == 3.0
    for name, kills in CHAINS.items():
        output = synthetic["root"] / f"chain_{name}"
        run_chain(forkserver, synthetic, output, kills)
        assert (output / "metrics.json").read_text() == (reference / "metrics.json").read_text(), name
        for log in (STEP_LOG, HISTORY):
            assert read_jsonl(output, log) == read_jsonl(reference, log), (name, log)
        for checkpoint in (LAST, BEST):
            ours, theirs = load_checkpoint(str(output / checkpoint)), load_checkpoint(str(reference / checkpoint))
            assert ours["epoch"] == theirs["epoch"] and ours.get("best") == theirs.get("best"), (name, checkpoint)
            assert all(torch.equal(ours["model"][k], theirs["model"][k]) for k in theirs["model"]), (name, checkpoint)
        assert not [f for f in os.listdir(output) if f.endswith(".tmp")], name
