"""Model selection: which split the epochs are compared on, and the record of it that
metrics.json, the checkpoints and the log carry.

- `--model_selection best` (default): the epoch with the best text-to-video R@1 on the
  validation split: the dataset's own, else `--holdout_val N` training videos held out
  (dataloaders/holdout.py), else the test split, as CLIP4Clip does for MSR-VTT 9k / 7k (its
  "val" is the 1k-A test set; the reproduction default, whose test numbers are then not held out).
- `--model_selection last`: the last epoch; the epochs are evaluated on a validation split when
  there is one (for the history), never on the test split before the end.
"""
import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from dataloaders.holdout import HOLDOUT_SPLIT, hold_out_videos
from modules.errors import InputError

LOG = logging.getLogger("dllfa")
SELECTION_RULES = ("best", "last")


@dataclass(frozen=True)
class Selection:
    rule: str             # "best" or "last"
    split: Optional[str]  # the split evaluated after each epoch: "val", "holdout_val", "test", or None
    n_videos: int = 0     # its videos

    def record(self, epoch: int) -> Dict:
        """What metrics.json and the best checkpoint say about how the epoch was chosen."""
        if self.rule == "last":
            return {"rule": "last_epoch", "epoch": epoch}
        return {"rule": "best_t2v_R1", "split": self.split, "n_videos": self.n_videos, "epoch": epoch}


def selection_splits(args, splits: Dict) -> Tuple[Dict, Selection, List[str]]:
    """(the splits, with the held-out validation split when `--holdout_val` asks for one and the
    training split without it; the selection; the held-out video ids)."""
    held_out: List[str] = []
    if args.holdout_val:
        if "val" in splits:
            raise InputError(f"--holdout_val {args.holdout_val}: {args.datatype} has a validation split of its own; "
                             "it is used for model selection")
        splits = dict(splits)
        splits["train"], splits[HOLDOUT_SPLIT] = hold_out_videos(splits["train"], args.holdout_val, args.seed)
        held_out = splits[HOLDOUT_SPLIT].video_ids
    validation = next((name for name in ("val", HOLDOUT_SPLIT) if name in splits), None)
    split = validation if args.model_selection == "last" else validation or "test"
    return splits, Selection(args.model_selection, split, len(splits[split].video_ids) if split else 0), held_out


def log_selection(args, selection: Selection) -> None:
    if selection.rule == "last":
        LOG.info("model selection: the last epoch%s", f" (each epoch evaluated on {selection.split}, "
                 f"{selection.n_videos} videos)" if selection.split else "; no evaluation before the final test")
    elif selection.split == "test":
        LOG.info("%s has no validation split here: model selection uses the TEST split (as the literature does "
                 "for MSR-VTT 1k-A); the reported test numbers are therefore not held out (--holdout_val N or "
                 "--model_selection last select without it)", args.datatype)
    else:
        LOG.info("model selection: best text-to-video R@1 on %s (%d videos)", selection.split, selection.n_videos)


def check_held_out_videos(held_out: List[str], resume_from: Optional[Dict]) -> None:
    """A resumed run validates on the videos it started with (other frames on disk draw others)."""
    if resume_from is None:
        return
    recorded = resume_from["config"].get("holdout_val_ids")
    if recorded is not None and recorded != held_out:
        changed = sorted(set(recorded) ^ set(held_out))
        raise InputError(f"--resume: the held-out validation videos differ from the run's ({len(changed)} ids, e.g. "
                         f"{', '.join(changed[:5])}): the training videos with frames are not the same as when it "
                         "started; resume with the run's data")
