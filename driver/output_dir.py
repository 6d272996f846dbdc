"""The start of a run in its `--output_dir`: refuse to overwrite a run by accident, start afresh,
or check and prepare a resume; then set up the log.

- A folder holds a run when it has results (RESULT_FILES: a checkpoint, metrics, the step or
  epoch log). A new run there is refused unless it is `--resume`d or `--overwrite_output_dir`
  is given (which removes the old run's files first, RUN_FILES and nothing else). Leftovers of
  a start that saved no results (config.json, log.txt) are removed without asking.
- `--resume` continues the plan the run was started with: every flag that its checkpoint's
  config records must be the same, except RESUMABLE_FLAGS (driver/checkpoints.py); the differing
  ones are refused all in one message. To train on with another plan (more epochs, another
  learning rate), start a new run from its weights with `--init_model`.
- A resume makes the folder read as one uninterrupted run: the step and epoch logs lose the
  lines that the checkpoint does not cover (they are done again), `checkpoint_best.pt` is made
  to hold the best epoch that the last checkpoint records (driver/checkpoints.py), and temporary
  files of killed writes are removed.
Every rank checks (reading only) before the main rank writes anything.
"""
import json
import logging
import os
from typing import Dict, List, Optional

import torch.distributed as dist

from driver.checkpoints import (BEST, LAST, RESUMABLE_FLAGS, best_is_stale, load_checkpoint,
                                write_best_from_last)
from driver.process_group import DistributedContext
from driver.run_files import (HISTORY, RESULT_FILES, RUN_FILES, STEP_LOG, present, remove_run_files,
                              setup_logging, truncate_jsonl)
from modules.atomic_file import remove_stale_temporaries
from modules.collectives import is_distributed
from modules.errors import InputError

LOG = logging.getLogger("dllfa")


def differing_flags(args, config: Dict) -> Dict[str, List[str]]:
    """`--flag: ours vs the checkpoint's` for each flag whose value differs from the one the
    checkpoint's config records, split into "refused" and "allowed" (RESUMABLE_FLAGS)."""
    differing = {"refused": [], "allowed": []}
    for flag, value in sorted(vars(args).items()):
        # a flag that the checkpoint's code did not have: nothing to compare; config's device: the one used
        if flag in config and config[flag] != json.loads(json.dumps(value)) and flag not in ("resume", "device"):
            kind = "allowed" if flag in RESUMABLE_FLAGS else "refused"
            differing[kind].append(f"--{flag}: {value} here, {config[flag]} in the checkpoint")
    return differing


def _check(args) -> Optional[Dict]:
    """Raise InputError if the run must not start; return the checkpoint of a resume."""
    if args.resume and args.overwrite_output_dir:
        raise InputError("--resume and --overwrite_output_dir contradict each other: continue the run in "
                         f"{args.output_dir}, or start it afresh")
    if args.resume and not args.do_train:
        raise InputError("--resume continues a training run: it needs --do_train")
    if not args.resume:
        results = present(args.output_dir, RESULT_FILES)
        if results and not args.overwrite_output_dir:
            raise InputError(f"{args.output_dir} holds a run ({', '.join(results)}): continue it with --resume, "
                             "start it afresh with --overwrite_output_dir (removes its files), or choose another "
                             "--output_dir")
        removed = [os.path.realpath(os.path.join(args.output_dir, name)) for name in present(args.output_dir, RUN_FILES)]
        if args.init_model and os.path.realpath(args.init_model) in removed:
            raise InputError(f"--overwrite_output_dir would remove --init_model {args.init_model}: copy it out of "
                             f"{args.output_dir} first, or choose another --output_dir")
        return None
    last_path = os.path.join(args.output_dir, LAST)
    if not os.path.isfile(last_path):
        started = present(args.output_dir, RUN_FILES)
        raise InputError(f"--resume: no {LAST} in {args.output_dir}" + (
            "; the run stopped before its first checkpoint: start it again with --overwrite_output_dir"
            if started else ""))
    checkpoint = load_checkpoint(last_path)
    refused = differing_flags(args, checkpoint["config"])["refused"]
    if refused:
        raise InputError(f"{last_path}: --resume with another plan than the run's; pass its flags (its config.json), "
                         f"or start a new run from its weights with --init_model {last_path}:\n  " + "\n  ".join(refused))
    return checkpoint


def _prepare(args, checkpoint: Optional[Dict], rewrite_best: bool) -> List[str]:
    """The main rank's writes; return what was done, for the log."""
    notes, folder = [], args.output_dir
    stale = remove_stale_temporaries(folder)
    if stale:
        notes.append(f"removed {len(stale)} temporary files of interrupted writes: {', '.join(stale)}")
    if checkpoint is None:
        removed = remove_run_files(folder)
        if removed:
            what = "the earlier run's files" if args.overwrite_output_dir else "leftovers of a start that saved no results"
            notes.append(f"removed {what} from {folder}: {', '.join(removed)}")
        return notes
    steps = truncate_jsonl(os.path.join(folder, STEP_LOG), "step", checkpoint["step"])
    epochs = truncate_jsonl(os.path.join(folder, HISTORY), "epoch", checkpoint["epoch"])
    if steps or epochs:
        notes.append(f"dropped {steps} lines of {STEP_LOG} and {epochs} of {HISTORY} after step {checkpoint['step']} "
                     f"(epoch {checkpoint['epoch']}), which {LAST} does not cover: they are done again")
    if rewrite_best:
        write_best_from_last(checkpoint, os.path.join(folder, BEST))
        notes.append(f"{LAST} records epoch {checkpoint['best']['epoch']} as the best, {BEST} did not hold it (the run "
                     "was stopped between the two checkpoint writes): rewrote it from the last checkpoint")
    return notes


def _barrier() -> None:
    if is_distributed():
        dist.barrier()


def open_output_dir(args, ctx: DistributedContext) -> Optional[Dict]:
    """Check, prepare and start logging into `args.output_dir`; return the checkpoint to resume
    from (read on every rank), or None for a fresh start."""
    checkpoint = _check(args)
    best_path = os.path.join(args.output_dir, BEST)
    rewrite_best = checkpoint is not None and best_is_stale(checkpoint, os.path.join(args.output_dir, LAST), best_path)
    _barrier()  # nobody writes before every rank has looked
    notes = []
    if ctx.is_main:
        os.makedirs(args.output_dir, exist_ok=True)
        notes = _prepare(args, checkpoint, rewrite_best)
    _barrier()
    setup_logging(args.output_dir, ctx.is_main)
    for note in notes:
        LOG.info(note)
    if checkpoint is not None:
        allowed = differing_flags(args, checkpoint["config"])["allowed"]
        if allowed:
            LOG.info("resuming with flags that do not change the plan set otherwise: %s", "; ".join(allowed))
        if checkpoint["config"].get("world_size", ctx.world_size) != ctx.world_size:
            LOG.warning("resuming with %d processes, started with %d: the same plan, but the data order differs "
                        "from an uninterrupted run", ctx.world_size, checkpoint["config"]["world_size"])
    return checkpoint
