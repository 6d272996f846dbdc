"""Training checkpoints: written atomically, read with `weights_only=True`.

A training checkpoint holds everything `--resume` needs to continue exactly: model,
optimizer, scheduler, grad scaler, epoch/step, the RNG states of every rank, the config and
the best validation score so far. `--init_model` accepts a training checkpoint or a plain
model state dict.
"""
import os
import random
from typing import Dict, List, Optional

import numpy as np
import torch
from torch import nn

from modules.atomic_file import atomic_path
from modules.clip_checkpoint import match_state_dict
from modules.errors import InputError
from modules.frame_attention_pooling import check_attention_keys

LAST = "checkpoint_last.pt"
BEST = "checkpoint_best.pt"


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
    """torch.save to a temporary file, then rename: a crash leaves the previous file intact."""
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)


def load_checkpoint(path: str) -> Dict[str, object]:
    if not os.path.isfile(path):
        raise InputError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise InputError(f"{path}: not a readable checkpoint ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''})") from None


def training_state(model: nn.Module, optimizer, scheduler, scaler, epoch: int, step: int,
                   config: Dict[str, object], best_score: Optional[float], rng_states: List[dict]) -> Dict[str, object]:
    """The payload of a resumable checkpoint; `epoch` is the number of finished epochs."""
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(),
        "epoch": epoch,
        "step": step,
        "config": config,
        "best_score": best_score,
        "rng_states": rng_states,
    }


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
    weights = model_weights(checkpoint, path)
    check_attention_keys(model, weights, path)  # before the generic key check: say why the keys differ
    weights = match_state_dict(model, weights, path)
    model.load_state_dict(weights, strict=True)
    return checkpoint
