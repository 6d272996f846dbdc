"""CLIP towers (open_clip) with the outputs the retrieval heads need.

- `encode_frames`: per-frame projected CLS embeddings, all real frames of the batch through
  the vision tower in one call (padded frames are skipped, their rows are zero).
- `encode_text`: projected per-token features; the sentence feature is the EOT row. The
  text path is written out (token embedding -> transformer -> ln_final -> projection)
  because open_clip's `encode_text` returns only the pooled feature. The 77-entry
  positional embedding and causal mask are truncated to the token length, never
  interpolated, so a 32-token context reproduces the first 32 positions of the 77-token model.

Weights stay fp32 ("master weights"); `autocast_dtype` runs the towers under autocast.
With CLIP4Clip's fp16 weights (modules/clip_fp16.py) the towers' inputs are cast to the
weight dtype, as CLIP4Clip does; the outputs are fp32 either way.

Activation: the MLPs use the activation the weights were trained with (`resolve_activation`):
QuickGELU for OpenAI's, GELU for most open_clip weights. It comes from what the weights record
(`modules/clip_weights/files.py`; for a pretrained tag, open_clip's registry), from an open_clip
`-quickgelu` architecture name, or from the caller; weights that record nothing need the caller
to say. Without weights (random init: the project's tiny/small configs, tests, the demo) it is
QuickGELU, the activation of the CLIP4Clip lineage.

Architectures: the project's `tiny`/`small` and open_clip's CLIP configs with CLIP's own text
tower (49408-token BPE, causal mask, EOT pooling), which is what `encode_text` reproduces.
"""
from typing import Optional, Tuple

import open_clip
import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from torch import nn

from modules.clip_weights.files import ACTIVATIONS, ActivationRecord, match_state_dict, read_clip_weights
from modules.clip_weights.open_clip_registry import registry_name
from modules.errors import InputError
from modules.tokenizer import positions_through_eot

# Small architectures of this project (tests, CPU demo). Text width == embed_dim so that the
# temporal encoder can be initialised from the text blocks, as with the real models.
PROJECT_CONFIGS = {
    "tiny": dict(embed_dim=64,
                 vision_cfg=dict(image_size=32, layers=2, width=64, patch_size=8, head_width=32),
                 text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=2, layers=2)),
    "small": dict(embed_dim=128,
                  vision_cfg=dict(image_size=64, layers=4, width=128, patch_size=8, head_width=32),
                  text_cfg=dict(context_length=77, vocab_size=49408, width=128, heads=4, layers=4)),
}


DEFAULT_ACTIVATION = "quick_gelu"  # without weights: the CLIP4Clip lineage's (OpenAI's) activation
CLIP_VOCAB_SIZE = 49408


def _unsupported_text_tower(config: dict) -> Optional[str]:
    """Why `encode_text`'s path (CLIP's BPE, causal mask, EOT pooling) would not compute this config."""
    text = config.get("text_cfg", {})
    if config.get("custom_text") or "hf_model_name" in text or "timm_model_name" in config.get("vision_cfg", {}):
        return "a text or vision tower from another library"
    if text.get("vocab_size", CLIP_VOCAB_SIZE) != CLIP_VOCAB_SIZE or "hf_tokenizer_name" in text:
        return "another tokenizer than CLIP's BPE"
    if text.get("pool_type", "argmax") != "argmax" or text.get("no_causal_mask") or text.get("embed_cls"):
        return "another text pooling or attention mask than CLIP's"
    return None


def _checked(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise InputError(f"unknown CLIP activation {activation!r}; use one of {', '.join(ACTIVATIONS)}")
    return activation


def architecture_activation(name: str) -> Optional[str]:
    """The activation an architecture's name fixes: open_clip's `*-quickgelu` configs say QuickGELU."""
    config = None if name in PROJECT_CONFIGS else open_clip.get_model_config(registry_name(name))
    return "quick_gelu" if config and config.get("quick_gelu") else None


def clip_architecture_config(name: str, activation: str = DEFAULT_ACTIVATION) -> dict:
    """open_clip config for `name` ("ViT-B/32" and "ViT-B-32" both accepted) with `activation`."""
    if name in PROJECT_CONFIGS:
        config = {k: dict(v) if isinstance(v, dict) else v for k, v in PROJECT_CONFIGS[name].items()}
    else:
        config = open_clip.get_model_config(registry_name(name))
        if config is None:
            vits = [m for m in open_clip.list_models() if m.startswith("ViT") and "quickgelu" not in m]
            raise InputError(f"unknown CLIP architecture {name!r}; use one of {sorted(PROJECT_CONFIGS)} "
                             f"or an open_clip name such as {', '.join(vits[:6])}, ...")
        config = dict(config)
        unsupported = _unsupported_text_tower(config)
        if unsupported:
            raise InputError(f"CLIP architecture {name!r} has {unsupported}; this repository computes CLIP's "
                             "own text tower (ViT-*, RN* configs of open_clip)")
    config["quick_gelu"] = _checked(activation) == "quick_gelu"
    return config


def resolve_activation(architecture: str, record: Optional[ActivationRecord], requested: Optional[str],
                       source: Optional[str]) -> str:
    """The activation to build `architecture` with, for weights `source` (None: random init) whose
    file or tag says `record`, when the caller asks for `requested` (None: not asked).

    What the weights or the architecture name record wins; a request that contradicts it is an
    error (it would compute something the weights were not trained for). Weights that record
    nothing need a request; without weights the default is QuickGELU."""
    statements = []  # (activation, who says it), most authoritative first
    if record and record.activation:
        statements.append((record.activation, f"{source} ({record.evidence})"))
    if architecture_activation(architecture):
        statements.append((architecture_activation(architecture), f"the architecture name {architecture}"))
    if requested:
        statements.append((_checked(requested), "--clip_activation"))
    if len({activation for activation, _ in statements}) > 1:
        raise InputError("contradictory CLIP activation: " + "; ".join(f"{who} says {activation}"
                                                                       for activation, who in statements))
    if statements:
        return statements[0][0]
    if source:
        raise InputError(f"{source}: the weights do not record their activation (OpenAI's were trained with "
                         "quick_gelu, most LAION / DataComp ones with gelu): pass --clip_activation quick_gelu or gelu")
    return DEFAULT_ACTIVATION


class ClipBackbone(nn.Module):
    """`activation`: None takes it from the checkpoint (an error when it records none) or, without
    a checkpoint, QuickGELU; a value must agree with what the checkpoint records."""

    def __init__(self, architecture: str = "ViT-B-32", checkpoint: Optional[str] = None,
                 grad_checkpointing: bool = False, autocast_dtype: Optional[torch.dtype] = None,
                 activation: Optional[str] = None):
        super().__init__()
        self.architecture = architecture
        weights = read_clip_weights(checkpoint) if checkpoint else None
        self.activation = resolve_activation(architecture, weights.record if weights else None, activation, checkpoint)
        self.config = clip_architecture_config(architecture, self.activation)
        self.clip = open_clip.model.CLIP(**self.config)
        if weights:
            self.clip.load_state_dict(match_state_dict(self.clip, weights.state, checkpoint), strict=True)
        self.clip.set_grad_checkpointing(grad_checkpointing)
        self.autocast_dtype = autocast_dtype
        self.register_buffer("pixel_mean", torch.tensor(OPENAI_DATASET_MEAN).view(3, 1, 1) * 255, persistent=False)
        self.register_buffer("pixel_std", torch.tensor(OPENAI_DATASET_STD).view(3, 1, 1) * 255, persistent=False)

    @property
    def embed_dim(self) -> int:
        return self.config["embed_dim"]

    @property
    def image_size(self) -> int:
        return self.config["vision_cfg"]["image_size"]

    @property
    def context_length(self) -> int:
        return self.clip.context_length

    @property
    def weight_dtype(self) -> torch.dtype:
        """fp32, or fp16 after convert_clip_to_fp16 (CLIP4Clip's `CLIP.dtype`)."""
        return self.clip.visual.conv1.weight.dtype

    @property
    def logit_scale(self) -> nn.Parameter:
        return self.clip.logit_scale

    def _autocast(self, device: torch.device):
        return torch.autocast(device_type=device.type, dtype=self.autocast_dtype or torch.float32,
                              enabled=self.autocast_dtype is not None)

    def encode_frames(self, video: torch.Tensor, video_mask: torch.Tensor) -> torch.Tensor:
        """video [B, T, 3, H, W] (uint8 0-255, or float already CLIP-normalised), video_mask [B, T]
        -> frame embeddings [B, T, D] float32, zero rows where the mask is 0."""
        batch, frames = video.shape[:2]
        keep = video_mask.bool()
        pixels = video[keep]  # [N_real, 3, H, W]
        if pixels.dtype == torch.uint8:
            pixels = (pixels.float() - self.pixel_mean) / self.pixel_std
        with self._autocast(video.device):
            embedded = self.clip.visual(pixels.to(self.weight_dtype))  # [N_real, D]
        out = embedded.new_zeros(batch, frames, embedded.shape[-1], dtype=torch.float32)
        return out.index_put((keep,), embedded.float())  # [B, T, D]

    def encode_text(self, tokens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """tokens [B, L] -> sentence [B, D], words [B, L, D], word_mask [B, L] (words and EOT)."""
        length = tokens.shape[1]
        if length > self.context_length:
            raise InputError(f"{length} text tokens exceed CLIP's context of {self.context_length}")
        clip = self.clip
        with self._autocast(tokens.device):
            dtype = self.weight_dtype
            x = clip.token_embedding(tokens).to(dtype) + clip.positional_embedding[:length].to(dtype)  # [B, L, W]
            x = clip.transformer(x, attn_mask=clip.attn_mask[:length, :length])
            x = clip.ln_final(x)
            if isinstance(clip.text_projection, nn.Linear):
                words = clip.text_projection(x)
            else:
                words = x @ clip.text_projection  # [B, L, D]
        words = words.float()
        eot_position = tokens.argmax(dim=-1)  # EOT has the largest id in CLIP's vocabulary
        sentence = words[torch.arange(tokens.shape[0], device=tokens.device), eot_position]  # [B, D]
        word_mask = positions_through_eot(tokens)  # [B, L]; by position: id 0 is padding but also "!"
        word_mask[:, 0] = False  # position 0 is SOT, not a word
        return sentence, words, word_mask
