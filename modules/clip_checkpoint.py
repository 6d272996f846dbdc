"""Read CLIP weights from a local file: OpenAI TorchScript archive, state dict, safetensors.

Only TorchScript archives go through `torch.jit.load` (the format OpenAI ships); every other
file is read with `weights_only=True` or by safetensors, so no arbitrary pickle is executed.
`preprocess/convert_clip_checkpoint.py` turns an archive into safetensors once.
"""
import os
import zipfile
from typing import Dict

import torch

from modules.errors import InputError

# Non-weight entries that OpenAI's archives carry in their state dict.
OPENAI_METADATA_KEYS = ("input_resolution", "context_length", "vocab_size")


def _is_torchscript_archive(path: str) -> bool:
    """TorchScript archives are zip files with a `code/` folder (plain torch.save files have none)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in name for name in archive.namelist())


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


def read_clip_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Return the CLIP weights stored at `path` as a state dict, metadata entries removed."""
    if not os.path.isfile(path):
        raise InputError(f"CLIP checkpoint not found: {path}")
    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file
            state = load_file(path, device="cpu")
        elif _is_torchscript_archive(path):
            state = torch.jit.load(path, map_location="cpu").state_dict()
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except InputError:
        raise
    except Exception as exc:  # corrupt or foreign file: say which, not a deserializer traceback
        raise InputError(
            f"{path}: not a readable CLIP checkpoint (TorchScript archive, torch state dict or "
            f".safetensors expected): {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    state = _unwrap(state, path)
    return {k: v for k, v in state.items() if k not in OPENAI_METADATA_KEYS}


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
