"""Read CLIP weights from a local file, and what the file says about their activation.

Formats: OpenAI's TorchScript archives (read as data by `modules/clip_weights/torchscript_archive.py`,
never run), `torch.save` state dicts (`weights_only=True`) and `.safetensors`. No format runs code.

The activation is part of the weights: OpenAI trained with QuickGELU, most open_clip weights
(LAION, DataComp) with GELU, and either loads into the same shapes without an error. So reading
a file also says which activation it *records*, when it does:

- a TorchScript archive keeps each module's class: QuickGELU or torch's GELU modules say it;
- a state dict with OpenAI's metadata entries (`input_resolution`, `context_length`,
  `vocab_size`) comes from OpenAI's code, which only has QuickGELU;
- a `.safetensors` file written by `convert_clip_checkpoint` (or the pretrained-tag cache)
  carries `clip_activation` in its metadata;
- any other file records nothing: the caller must say (`--clip_activation`).
"""
import os
import zipfile
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch

from modules.atomic_file import atomic_path
from modules.errors import InputError, error_summary
from modules.clip_weights.torchscript_archive import TorchScriptArchive, is_torchscript_archive

ACTIVATIONS = ("quick_gelu", "gelu")
# Non-weight entries that OpenAI's archives carry in their state dict.
OPENAI_METADATA_KEYS = ("input_resolution", "context_length", "vocab_size")
# safetensors metadata keys written by `write_clip_safetensors`.
ACTIVATION_KEY, ORIGIN_KEY = "clip_activation", "clip_origin"
_ACTIVATION_CLASSES = {"QuickGELU": "quick_gelu", "GELU": "gelu"}


@dataclass
class ActivationRecord:
    """What a weights file says about its activation: `activation` (None: nothing) and why."""
    activation: Optional[str]
    evidence: str


@dataclass
class ClipWeights:
    state: Dict[str, torch.Tensor]
    record: ActivationRecord


def _unwrap(state: object, path: str) -> Dict[str, torch.Tensor]:
    """Accept `{"state_dict": ...}` / `{"model": ...}` wrappers and DDP `module.` prefixes."""
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        raise InputError(f"{path}: not a CLIP checkpoint (expected a dict of tensors)")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _state_record(state: Dict[str, torch.Tensor]) -> ActivationRecord:
    if all(key in state for key in OPENAI_METADATA_KEYS):
        return ActivationRecord("quick_gelu", "OpenAI's metadata entries (input_resolution, ...): OpenAI weights")
    return ActivationRecord(None, "")


def _archive_record(archive: TorchScriptArchive) -> ActivationRecord:
    found = {_ACTIVATION_CLASSES[name] for name in archive.module_classes().values() if name in _ACTIVATION_CLASSES}
    if len(found) == 1:
        activation = found.pop()
        return ActivationRecord(activation, f"the archive's {'QuickGELU' if activation == 'quick_gelu' else 'GELU'} modules")
    return _state_record(archive.tensor_refs())


def _read(path: str, load_tensors: bool) -> Tuple[Optional[Dict[str, torch.Tensor]], ActivationRecord]:
    if not os.path.isfile(path):
        raise InputError(f"CLIP checkpoint not found: {path}")
    try:
        if path.endswith(".safetensors"):
            from safetensors import safe_open
            from safetensors.torch import load_file
            with safe_open(path, framework="pt") as handle:
                metadata = handle.metadata() or {}
            activation = metadata.get(ACTIVATION_KEY)
            if activation is not None and activation not in ACTIVATIONS:
                raise InputError(f"{path}: unknown {ACTIVATION_KEY} {activation!r} in its metadata")
            record = ActivationRecord(activation, f"its metadata ({metadata.get(ORIGIN_KEY, 'no origin given')})"
                                      if activation else "")
            return (_unwrap(load_file(path, device="cpu"), path) if load_tensors else None), record
        if is_torchscript_archive(path):
            with TorchScriptArchive(path) as archive:
                return (_unwrap(archive.state_dict(), path) if load_tensors else None), _archive_record(archive)
        # mmap: nothing is read until used (torch.save's zip format; older files are read whole)
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
        state = _unwrap(state, path)
        return state, _state_record(state)
    except InputError:
        raise
    except Exception as exc:  # corrupt or foreign file: say which, not a deserializer traceback
        raise InputError(
            f"{path}: not a readable CLIP checkpoint (TorchScript archive, torch state dict or "
            f".safetensors expected): {error_summary(exc)}"
        ) from None


def recorded_activation(path: str) -> ActivationRecord:
    """What `path` records about its activation, reading as little of it as the format allows."""
    return _read(path, load_tensors=False)[1]


def read_clip_weights(path: str) -> ClipWeights:
    """The CLIP weights stored at `path` (metadata entries removed) and their activation record."""
    state, record = _read(path, load_tensors=True)
    return ClipWeights({k: v for k, v in state.items() if k not in OPENAI_METADATA_KEYS}, record)


def write_clip_safetensors(state: Dict[str, torch.Tensor], target: str, activation: Optional[str],
                           origin: str) -> None:
    """Write `state` to `target` atomically; the metadata records the activation (when known) and origin."""
    from safetensors.torch import save_file
    metadata = {ORIGIN_KEY: origin, **({ACTIVATION_KEY: activation} if activation else {})}
    tensors = {k: v.detach().contiguous().clone() for k, v in state.items()}
    with atomic_path(target) as temporary:
        save_file(tensors, temporary, metadata=metadata)


def convert_clip_checkpoint(source: str, target: str, activation: Optional[str] = None) -> ClipWeights:
    """Write the weights of `source` to `target` (.safetensors) with their activation recorded:
    the one `source` records, or `activation` for a file that records none (a contradiction is an error)."""
    if not target.endswith(".safetensors"):
        raise InputError(f"target must end with .safetensors: {target}")
    weights = read_clip_weights(source)
    recorded = weights.record.activation
    if recorded and activation and recorded != activation:
        raise InputError(f"{source} records {recorded} ({weights.record.evidence}), not {activation}")
    weights.record = ActivationRecord(recorded or activation, weights.record.evidence or "given by the caller")
    write_clip_safetensors(weights.state, target, weights.record.activation,
                           f"converted from {os.path.basename(source)}; activation: {weights.record.evidence}")
    return weights


def match_state_dict(model: torch.nn.Module, state: Dict[str, torch.Tensor], path: str) -> Dict[str, torch.Tensor]:
    """Return `state` ready for `model.load_state_dict(strict=True)`, or raise an InputError
    naming every missing, unexpected or mis-shaped key.

    TorchScript archives also store buffers that the model keeps out of its state dict (the
    causal attention mask); those are recomputed by the model and dropped here.
    """
    expected = model.state_dict()
    derived_buffers = {name for name, _ in model.named_buffers()} - set(expected)
    state = {k: v for k, v in state.items() if k not in derived_buffers}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mis_shaped = sorted(
        f"{k} (checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)})"
        for k in set(expected) & set(state) if state[k].shape != expected[k].shape
    )
    if missing or unexpected or mis_shaped:
        def listing(title, keys):
            shown = ", ".join(keys[:8]) + (f", ... ({len(keys)} in all)" if len(keys) > 8 else "")
            return f"\n  {title}: {shown}" if keys else ""
        raise InputError(
            f"{path}: checkpoint does not match the requested architecture"
            + listing("shape mismatch", mis_shaped)
            + listing("missing from checkpoint", missing)
            + listing("not in model", unexpected)
        )
    return state
