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
OpenAI weights were trained with QuickGELU, so every architecture here is built with it.
"""
from typing import Optional, Tuple

import open_clip
import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from torch import nn

from modules.clip_checkpoint import match_state_dict, read_clip_state_dict
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


def clip_architecture_config(name: str) -> dict:
    """open_clip config for `name` ("ViT-B/32" and "ViT-B-32" both accepted) with QuickGELU."""
    if name in PROJECT_CONFIGS:
        config = {k: dict(v) if isinstance(v, dict) else v for k, v in PROJECT_CONFIGS[name].items()}
    else:
        config = open_clip.get_model_config(name.replace("/", "-"))
        if config is None:
            vits = [m for m in open_clip.list_models() if m.startswith("ViT") and "quickgelu" not in m]
            raise InputError(f"unknown CLIP architecture {name!r}; use one of {sorted(PROJECT_CONFIGS)} "
                             f"or an open_clip name such as {', '.join(vits[:6])}, ...")
        config = dict(config)
    config["quick_gelu"] = True
    return config


class ClipBackbone(nn.Module):
    def __init__(self, architecture: str = "ViT-B-32", checkpoint: Optional[str] = None,
                 grad_checkpointing: bool = False, autocast_dtype: Optional[torch.dtype] = None):
        super().__init__()
        self.architecture = architecture
        self.config = clip_architecture_config(architecture)
        self.clip = open_clip.model.CLIP(**self.config)
        if checkpoint:
            self.load_checkpoint(checkpoint)
        self.clip.set_grad_checkpointing(grad_checkpointing)
        self.autocast_dtype = autocast_dtype
        self.register_buffer("pixel_mean", torch.tensor(OPENAI_DATASET_MEAN).view(3, 1, 1) * 255, persistent=False)
        self.register_buffer("pixel_std", torch.tensor(OPENAI_DATASET_STD).view(3, 1, 1) * 255, persistent=False)

    def load_checkpoint(self, path: str) -> None:
        state = match_state_dict(self.clip, read_clip_state_dict(path), path)
        self.clip.load_state_dict(state, strict=True)

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
