"""CLIP backbone + retrieval head, split into text-only, video-only and pairwise parts.

Evaluation calls `encode_text` / `encode_video` once per caption / video and then only the
head's pairwise `similarity`; training calls `forward`, which gathers the features of all
ranks so that the contrastive loss runs over the global batch.
"""
import math
from dataclasses import dataclass

import torch
from torch import nn

from modules.clip_backbone import ClipBackbone
from modules.collectives import gather_fixed, gather_with_grad
from modules.contrastive_loss import MAX_SCALE, symmetric_infonce
from modules.retrieval_heads import DEFAULT_MEMORY_MB

MAX_LOGIT_SCALE = math.log(MAX_SCALE)


@dataclass
class TextFeatures:
    sentence: torch.Tensor   # [Nt, D]
    words: torch.Tensor      # [Nt, L, D]
    word_mask: torch.Tensor  # [Nt, L] bool


class RetrievalModel(nn.Module):
    def __init__(self, backbone: ClipBackbone, head: nn.Module, sim_memory_mb: float = DEFAULT_MEMORY_MB):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.sim_memory_mb = sim_memory_mb

    def encode_text(self, tokens: torch.Tensor) -> TextFeatures:
        return TextFeatures(*self.backbone.encode_text(tokens))  # tokens [Nt, L]

    def encode_video(self, video: torch.Tensor, video_mask: torch.Tensor) -> torch.Tensor:
        return self.backbone.encode_frames(video, video_mask)  # [Nv, T, D]

    def similarity(self, text: TextFeatures, frames: torch.Tensor, video_mask: torch.Tensor) -> torch.Tensor:
        """Cosine scores [Nt, Nv] of every text against every video."""
        return self.head.similarity(self.head.text_side(text.sentence, text.words, text.word_mask),
                                    self.head.video_side(frames, video_mask), memory_mb=self.sim_memory_mb)

    def clamp_logit_scale(self) -> None:
        """Keep exp(logit_scale) <= 100, as CLIP does after every optimizer step."""
        with torch.no_grad():
            self.backbone.logit_scale.clamp_(0, MAX_LOGIT_SCALE)

    def forward(self, tokens: torch.Tensor, video: torch.Tensor, video_mask: torch.Tensor) -> torch.Tensor:
        """Symmetric InfoNCE over the global batch (local slices keep their gradient)."""
        text = self.encode_text(tokens)
        frames = self.encode_video(video, video_mask)
        text = TextFeatures(gather_with_grad(text.sentence), gather_with_grad(text.words),
                            gather_fixed(text.word_mask))  # every rank's batch has the same shape
        frames, video_mask = gather_with_grad(frames), gather_fixed(video_mask.bool())
        sim = self.similarity(text, frames, video_mask)  # [B, B]
        return symmetric_infonce(sim, self.backbone.logit_scale.exp())
