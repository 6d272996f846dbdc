"""CLIP backbone + retrieval head, split into text-only, video-only and pairwise parts.

Evaluation calls `encode_text` / `encode_video` once per caption / video and then only the
head's pairwise `similarity`; training calls `forward`, which gathers the features of all
ranks so that the contrastive loss runs over the global batch. Everything per caption or per
video (CLIP, the temporal encoder) runs before the gather, on each rank's own batch, as in
CLIP4Clip; the head's pooling, which pairs texts with videos, after it.

`reference_gpus` R sets the gradient scale of what runs before the gather: the global-batch
loss's gradient / R (`modules/collectives.py`, gather_with_grad). R = 1 is the true gradient;
CLIP4Clip's recipe passes the GPU count of the published run it reproduces, since CLIP4Clip's
gather trains with the gradient / its number of GPUs.
"""
import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from modules.clip_backbone import ClipBackbone
from modules.collectives import gather_fixed, gather_with_grad
from modules.contrastive_loss import MAX_SCALE, positive_mask
from modules.head_base import DEFAULT_MEMORY_MB

MAX_LOGIT_SCALE = math.log(MAX_SCALE)


@dataclass
class TextFeatures:
    sentence: torch.Tensor   # [Nt, D]
    words: torch.Tensor      # [Nt, L, D]
    word_mask: torch.Tensor  # [Nt, L] bool


class RetrievalModel(nn.Module):
    def __init__(self, backbone: ClipBackbone, head: nn.Module, sim_memory_mb: float = DEFAULT_MEMORY_MB,
                 reference_gpus: int = 1):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.sim_memory_mb = sim_memory_mb
        self.reference_gpus = reference_gpus

    def encode_text(self, tokens: torch.Tensor) -> TextFeatures:
        return TextFeatures(*self.backbone.encode_text(tokens))  # tokens [Nt, L]

    def encode_video(self, video: torch.Tensor, video_mask: torch.Tensor) -> torch.Tensor:
        """video [Nv, T, 3, H, W] -> frame features [Nv, T, D] after the temporal encoder (full
        precision, zero where padded)."""
        return self.head.frame_side(self.backbone.encode_frames(video, video_mask), video_mask)

    def similarity(self, text: TextFeatures, frames: torch.Tensor, video_mask: torch.Tensor) -> torch.Tensor:
        """Cosine scores [Nt, Nv] of every text against every video (`frames` from encode_video)."""
        return self.head.similarity(self.head.text_side(text.sentence, text.words, text.word_mask),
                                    self.head.pool_video(frames, video_mask), memory_mb=self.sim_memory_mb)

    def clamp_logit_scale(self) -> None:
        """Keep exp(logit_scale) <= 100, as CLIP does after every optimizer step."""
        with torch.no_grad():
            self.backbone.logit_scale.clamp_(0, MAX_LOGIT_SCALE)

    def forward(self, tokens: torch.Tensor, video: torch.Tensor, video_mask: torch.Tensor,
                caption_matches: Optional[torch.Tensor] = None, video_index: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """Symmetric InfoNCE over the global batch (local slices keep their gradient), summed over the
        head's `training_similarities` (its score, and DLLFA's token level alone with its token loss). With
        `caption_matches` [B_local, K] (the videos each caption describes, -1 padded) and
        `video_index` [B_local], every video a caption describes is a positive of its row
        (`modules/contrastive_loss.py`); without them only the item's own video is."""
        text = self.encode_text(tokens)  # [B_local, ...]
        frames = self.encode_video(video, video_mask)  # [B_local, T, D]
        scale = self.reference_gpus
        text = TextFeatures(gather_with_grad(text.sentence, scale), gather_with_grad(text.words, scale),
                            gather_fixed(text.word_mask))
        frames, video_mask = gather_with_grad(frames, scale), gather_fixed(video_mask.bool())
        positives = None
        if caption_matches is not None:
            positives = positive_mask(gather_fixed(caption_matches), gather_fixed(video_index))  # [B, B]
        return self.head.training_loss(self.head.text_side(text.sentence, text.words, text.word_mask),
                                       self.head.pool_video(frames, video_mask), self.backbone.logit_scale.exp(),
                                       positives, self.sim_memory_mb)
