"""CLIP weight files as the tests need them: archives like OpenAI's, state dicts, crafted archives."""
import collections
import copy
import copyreg
import functools
import io
import pickle
import sys
import types
import zipfile
from typing import Dict, Tuple

import torch
from torch import Tensor, nn

from modules.clip_backbone import ClipBackbone
from modules.tokenizer import CaptionTokenizer


@functools.lru_cache(maxsize=None)
def _tiny_clip(activation: str) -> ClipBackbone:
    torch.manual_seed(3)
    backbone = ClipBackbone("tiny", activation=activation).eval()
    with torch.no_grad():
        for parameter in backbone.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    return backbone


def tiny_clip(activation: str = "quick_gelu") -> ClipBackbone:
    """A tiny CLIP with non-default weights (the same for both activations), so that a failed load
    cannot pass by coincidence."""
    return copy.deepcopy(_tiny_clip(activation))


class OpenAIShapedCLIP(nn.Module):
    """A CLIP laid out like OpenAI's `clip.model.CLIP` (the module their archives hold): the towers
    and parameters under OpenAI's names, the metadata buffers `input_resolution`, `context_length`,
    `vocab_size`, and no causal-mask buffer (OpenAI's code makes it a constant)."""

    def __init__(self, clip):
        super().__init__()
        self.visual, self.transformer = clip.visual, clip.transformer
        self.token_embedding, self.ln_final = clip.token_embedding, clip.ln_final
        self.positional_embedding, self.text_projection = clip.positional_embedding, clip.text_projection
        self.logit_scale = clip.logit_scale
        self.mask = clip.attn_mask.clone()
        for name, value in (("input_resolution", clip.visual.image_size[0]), ("context_length", 77),
                            ("vocab_size", clip.token_embedding.num_embeddings)):
            self.register_buffer(name, torch.tensor(value))

    def forward(self, image, text):
        x = self.transformer(self.token_embedding(text) + self.positional_embedding, attn_mask=self.mask)
        x = self.ln_final(x)[torch.arange(text.shape[0]), text.argmax(dim=-1)] @ self.text_projection
        return self.visual(image), x


@functools.lru_cache(maxsize=None)
def _archive_bytes(activation: str, openai_style: bool) -> bytes:
    clip = tiny_clip(activation).clip
    clip = OpenAIShapedCLIP(clip) if openai_style else clip
    image = torch.zeros(1, 3, 32, 32)
    tokens = CaptionTokenizer(77)(["a photo"]).tokens
    traced = torch.jit.trace(clip, (image, tokens), check_trace=False)
    buffer = io.BytesIO()
    torch.jit.save(traced.half() if openai_style else traced, buffer)
    return buffer.getvalue()


def save_torchscript_archive(path: str, activation: str = "quick_gelu", openai_style: bool = False) -> None:
    """A traced `tiny_clip(activation)`; `openai_style`: an `OpenAIShapedCLIP` in fp16, as OpenAI
    ships theirs. Traced once per test session."""
    with open(path, "wb") as handle:
        handle.write(_archive_bytes(activation, openai_style))


class _WritesAFile(nn.Module):
    """A module whose TorchScript `__setstate__` creates the file it names: torch.jit.load runs it."""

    def __init__(self, target: str):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(4))
        self.target = target

    def forward(self, x):
        return x * self.weight

    @torch.jit.export
    def __getstate__(self) -> Tuple[Tensor, str, bool]:
        return (self.weight, self.target, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[Tensor, str, bool]) -> None:
        self.target = state[1]
        written = torch.from_file(self.target, True, 16, dtype=torch.uint8)  # shared=True creates the file
        self.weight = state[0] + written.float().sum() * 0
        self.training = state[2]


def save_setstate_archive(path: str, target: str) -> None:
    torch.jit.script(_WritesAFile(target)).save(path)


class _RunsACommand:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (exec, (f"open({self.target!r}, 'w').write('pwned')",))


def save_reduce_archive(path: str, target: str) -> None:
    """A zip laid out like a TorchScript archive whose data.pkl calls `exec` on load."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"weight": _RunsACommand(target)}, protocol=2))
        archive.writestr("evil/code/__torch__.py", "class Evil(Module):\n  __parameters__ = []\n")
        archive.writestr("evil/version", "3\n")


class _Module:
    """Pickled as `__torch__.Root`, the way TorchScript writes a module."""


class _Tensor:
    def __init__(self, offset, size, stride):
        self.args = offset, size, stride


_STORAGE = object()


def save_handmade_archive(path: str, tensors: Dict[str, Tuple[int, tuple, tuple]], numel: int,
                          storage_bytes: int = None, cycle: bool = False) -> None:
    """An archive whose root module declares `tensors` ({name: (offset, size, stride)}) as
    parameters, all in one float32 storage of `numel` elements (of `storage_bytes` bytes);
    `cycle`: the root also holds itself as a submodule `itself`."""
    module = types.ModuleType("__torch__")
    module.Root = _Module
    _Module.__module__, _Module.__qualname__ = module.__name__, "Root"
    root = _Module()
    root.__dict__.update({name: _Tensor(*args) for name, args in tensors.items()}, training=False)
    if cycle:
        root.itself = root

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", numel) if obj is _STORAGE else None

        def reducer_override(self, obj):
            if isinstance(obj, _Tensor):
                return torch._utils._rebuild_tensor_v2, (_STORAGE, *obj.args, False, collections.OrderedDict())
            if isinstance(obj, _Module):
                return copyreg.__newobj__, (_Module,), dict(obj.__dict__)
            return NotImplemented

    buffer = io.BytesIO()
    sys.modules[module.__name__] = module
    try:
        Pickler(buffer, protocol=2).dump(root)
    finally:
        del sys.modules[module.__name__]
    declared = ", ".join(f'"{name}"' for name in tensors)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("handmade/data.pkl", buffer.getvalue())
        archive.writestr("handmade/code/__torch__.py",
                         f"class Root(Module):\n  __parameters__ = [{declared}, ]\n  __buffers__ = []\n")
        archive.writestr("handmade/data/0", bytes(4 * numel if storage_bytes is None else storage_bytes))
