"""Training checkpoints: written atomically, read with `weights_only=True`.

A training checkpoint (`checkpoint_last.pt`) holds everything `--resume` needs to continue
exactly: model, optimizer, scheduler, grad scaler, epoch/step, steps per epoch, the RNG states
of every rank, the config, and the record of the best epoch so far (epoch, score, selection
split, report). `checkpoint_best.pt` holds the best epoch's model, config and that record.

After each evaluation the last checkpoint is written first, then the best one if the epoch
improved. A kill between the two writes leaves a last checkpoint whose record names its own
epoch as the best while `checkpoint_best.pt` still holds an older epoch (or none):
`best_is_stale` finds it and `write_best_from_last` rewrites it from the last checkpoint,
which holds that very model. No kill
point loses the best model or leaves another epoch's model under its name.

`--init_model` accepts a training checkpoint or a plain model state dict. The flags a checkpoint
must be evaluated with (`MODEL_FLAGS`) and those a `--resume` may change (`RESUMABLE_FLAGS`)
are the rules for reusing a checkpoint, so they live here as well.
"""
import os
import random
from typing import Dict, List, Set

import numpy as np
import torch
from torch import nn

from modules.atomic_file import atomic_path
from modules.clip_weights.files import match_state_dict
from modules.errors import InputError, error_summary
from modules.retrieval_heads import FUSIONS

LAST = "checkpoint_last.pt"
BEST = "checkpoint_best.pt"
# The layout of the checkpoints this code writes (the keys of `training_state` and `best_checkpoint`);
# a checkpoint of another format is refused by `load_checkpoint`.
FORMAT_KEY, CHECKPOINT_FORMAT = "checkpoint_format", 1


def rng_state() -> Dict[str, object]:
    """This process's RNG states, as tensors and plain types (loadable with weights_only)."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "position": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: Dict[str, object]) -> None:
    random.setstate(tuple(tuple(x) if isinstance(x, list) else x for x in state["python"]))
    numpy_state = state["numpy"]
    np.random.set_state(("MT19937", numpy_state["keys"].numpy().astype(np.uint32), numpy_state["position"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def save_checkpoint(path: str, payload: Dict[str, object]) -> None:
    """torch.save to a temporary file, then rename: a crash leaves the previous file intact. The
    payload is stamped with `CHECKPOINT_FORMAT`."""
    with atomic_path(path) as temporary:
        torch.save({**payload, FORMAT_KEY: CHECKPOINT_FORMAT}, temporary)


# Model flags added after checkpoints of `CHECKPOINT_FORMAT` were written: a config without one comes from
# before the flag, when the model computed what this value gives (which need not be today's default).
FLAGS_BEFORE_THEY_EXISTED = {"dllfa_token_frames": "temporal", "dllfa_order_fusion": "shared"}


def completed_config(config: Dict[str, object]) -> Dict[str, object]:
    """A run's recorded config (config.json, or a checkpoint's) with `FLAGS_BEFORE_THEY_EXISTED` where it
    lacks them: what the model was built with, not today's defaults."""
    return {**FLAGS_BEFORE_THEY_EXISTED, **config}


def load_checkpoint(path: str, mmap: bool = False) -> Dict[str, object]:
    """A checkpoint written by `save_checkpoint` in `CHECKPOINT_FORMAT`, or a plain state dict
    (every value a tensor: model weights from elsewhere, for `--init_model`), on the CPU;
    `mmap`: its tensors stay in the file until read. A config is completed with
    `FLAGS_BEFORE_THEY_EXISTED` where it lacks them."""
    if not os.path.isfile(path):
        raise InputError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as error:
        raise InputError(f"{path}: not a readable checkpoint ({error_summary(error)})") from None
    plain_weights = isinstance(checkpoint, dict) and all(torch.is_tensor(v) for v in checkpoint.values())
    if not plain_weights and (not isinstance(checkpoint, dict) or checkpoint.get(FORMAT_KEY) != CHECKPOINT_FORMAT):
        found = checkpoint.get(FORMAT_KEY, "none") if isinstance(checkpoint, dict) else "none"
        raise InputError(f"{path}: checkpoint format {found}, this code reads format {CHECKPOINT_FORMAT}: train it "
                         f"again, or give its model weights alone as a plain state dict to --init_model")
    if not plain_weights and isinstance(checkpoint.get("config"), dict):
        checkpoint["config"] = completed_config(checkpoint["config"])
    return checkpoint


def checkpoint_config(path: str) -> Dict[str, object]:
    """The config.json content a checkpoint of this repository records ({} for a plain state
    dict), read without loading its tensors."""
    try:
        checkpoint = load_checkpoint(path, mmap=True)
    except InputError:  # torch's legacy (not zip) format cannot be mapped; unreadable files say why here
        checkpoint = load_checkpoint(path)
    config = checkpoint.get("config")
    return config if isinstance(config, dict) else {}


def training_state(model: nn.Module, optimizer, scheduler, scaler, epoch: int, step: int, steps_per_epoch: int,
                   config: Dict[str, object], best: Dict[str, object], rng_states: List[dict]) -> Dict[str, object]:
    """The payload of a resumable checkpoint; `epoch` is the number of finished epochs, `best`
    the record of the best epoch so far (`best_record`)."""
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(),
        "epoch": epoch,
        "step": step,
        "steps_per_epoch": steps_per_epoch,
        "config": config,
        "best": best,
        "rng_states": rng_states,
    }


def best_record(epoch: int, score: float, selection_split: str, report: Dict[str, object]) -> Dict[str, object]:
    """What identifies the best epoch: stored in both checkpoints."""
    return {"epoch": epoch, "score": score, "selection_split": selection_split, "report": report}


def best_checkpoint(weights: Dict[str, torch.Tensor], config: Dict[str, object],
                    best: Dict[str, object]) -> Dict[str, object]:
    """The payload of `checkpoint_best.pt`: the best epoch's model, the config and its record."""
    return {"model": weights, "config": config, **best}


def best_is_stale(last: Dict[str, object], last_path: str, best_path: str) -> bool:
    """Whether `best_path` must be rewritten from the last checkpoint (`write_best_from_last`) to
    hold the epoch that it records as the best: true after a kill between the two writes."""
    best = last["best"]
    found = load_checkpoint(best_path, mmap=True)["epoch"] if os.path.isfile(best_path) else None  # weights unread
    if found != best["epoch"] and best["epoch"] != last["epoch"]:  # not what a kill between the writes leaves
        raise InputError(f"{best_path}: holds epoch {found}, but {last_path} records epoch {best['epoch']} as the "
                         "best and no longer holds that model; was one of the files replaced by hand?")
    return found != best["epoch"]


def write_best_from_last(last: Dict[str, object], best_path: str) -> None:
    save_checkpoint(best_path, best_checkpoint(last["model"], last["config"], last["best"]))


def model_weights(checkpoint: Dict[str, object], path: str) -> Dict[str, torch.Tensor]:
    """The model state dict inside a training checkpoint, or the checkpoint itself."""
    weights = checkpoint.get("model", checkpoint)
    if not isinstance(weights, dict) or not all(torch.is_tensor(v) for v in weights.values()):
        raise InputError(f"{path}: holds no model weights")
    return weights


def load_model_weights(model: nn.Module, path: str) -> Dict[str, object]:
    """Load `--init_model` into `model` (exact architecture match, keys named otherwise);
    return the whole checkpoint (its config and metrics, when it has them)."""
    checkpoint = load_checkpoint(path)
    weights = match_state_dict(model, model_weights(checkpoint, path), path)
    model.load_state_dict(weights, strict=True)
    return checkpoint


# Flags that change what a model computes, most of them without changing its parameter shapes: a
# checkpoint evaluated with other values would load and give other numbers (or fail to load, less clearly).
MODEL_FLAGS = ("pretrained_clip_name", "sim_header", "cross_num_hidden_layers", "attention_dim", "dllfa_levels",
               "dllfa_no_temporal", "dllfa_token_frames", "dllfa_order_fusion", "dllfa_fusion", "temporal_centering",
               "clip_activation", "optimizer")  # only as far as it decides CLIP's dtype: clip4clip runs CLIP in fp16


def differing_model_flags(args, checkpoint: Dict) -> List[str]:
    """`--flag: ours vs the checkpoint's` for every MODEL_FLAGS entry the checkpoint's config
    records with another value (none for a plain state dict, which has no config)."""
    def canonical(flag, value):
        if flag == "pretrained_clip_name":
            return str(value).replace("/", "-")
        if flag == "dllfa_fusion" and value not in FUSIONS:
            return float(value)
        if flag == "optimizer":
            return value == "clip4clip"  # CLIP in fp16 or in fp32; adamw and xpool evaluate alike
        return value

    config = checkpoint.get("config") or {}
    return [f"--{flag}: {getattr(args, flag)} here, {config[flag]} in the checkpoint" for flag in MODEL_FLAGS
            if flag in config and canonical(flag, config[flag]) != canonical(flag, getattr(args, flag))]


# Flags that decide what an evaluated model sees: eval-only takes them from the checkpoint's config
# like the model flags, but one given on the command line with another value is a deliberate
# override (fewer frames, other words), recorded as such.
INPUT_FLAGS = ("max_frames", "max_words", "slice_framepos", "eval_frame_order", "precision")


def adopt_checkpoint_flags(args, config: Dict, given: Set[str]) -> Dict[str, Dict]:
    """Set every MODEL_FLAGS and INPUT_FLAGS entry that `config` (an eval-only checkpoint's)
    records and the command line does not give (`given`) to the recorded value; return the
    overrides {flag: {"checkpoint": recorded, "used": given}} of the input flags given with
    another value. A model flag given with another value stays, for `differing_model_flags`
    to refuse; a plain state dict (empty `config`) leaves every flag as given. A temporal
    encoder's position table has the checkpoint's --max_frames rows, so more frames than it
    are an InputError."""
    overrides = {}
    for flag in MODEL_FLAGS + INPUT_FLAGS:
        if flag not in config:
            continue
        if flag not in given:
            setattr(args, flag, config[flag])
        elif flag in INPUT_FLAGS and getattr(args, flag) != config[flag]:
            overrides[flag] = {"checkpoint": config[flag], "used": getattr(args, flag)}
    temporal = args.sim_header == "seqTransf" or (args.sim_header == "dllfa" and not args.dllfa_no_temporal)
    if "max_frames" in overrides and temporal and args.max_frames > config["max_frames"]:
        raise InputError(f"--max_frames {args.max_frames}: the temporal encoder of {args.init_model} has positions "
                         f"for {config['max_frames']} frames (its --max_frames); evaluate with at most that many")
    return overrides


def position_table_frames(args) -> int:
    """Rows of the temporal encoder's frame position table: --max_frames, or the checkpoint's
    when eval-only samples fewer frames (an override)."""
    return args.overrides.get("max_frames", {}).get("checkpoint", args.max_frames)


# Flags that may differ between a run and its `--resume`: where the run and its data are (the
# data itself is checked by its steps per epoch), how fast it runs, what it logs and reports.
# Every other flag that the checkpoint's config records must match, so that a resumed run
# follows the plan it was started with and its config.json says what it does. The CLIP weights'
# location may move too (`clip_checkpoint`, `cache_dir`): a resume loads every weight from the
# checkpoint, and the activation they were trained with (`clip_activation`) must still match.
RESUMABLE_FLAGS = ("resume", "overwrite_output_dir", "output_dir", "do_eval", "device", "data_path", "features_path",
                   "num_thread_reader", "batch_size_val", "n_display", "sim_memory_mb", "dual_softmax", "save_sim",
                   "clip_checkpoint", "cache_dir", "tf32")
