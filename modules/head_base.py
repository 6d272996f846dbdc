"""What every retrieval head shares: one interface, clean inputs, full-precision scores.

    text  = head.text_side(sentence, words, word_mask)  # text-only, cacheable
    video = head.video_side(frames, video_mask)         # video-only, cacheable
    sim   = head.similarity(text, video, memory_mb)     # [Nt, Nv] cosine, the only pairwise part
    sims  = head.training_similarities(text, video)     # what training's InfoNCE losses are summed over
    loss  = head.training_loss(text, video, logit_scale, positives)  # that sum

`video_side` is `pool_video(frame_side(frames, mask), mask)`: `frame_side` is the temporal
encoder (per video, so training runs it on each rank's own videos before the gather and
evaluation once per video), `pool_video` the head's own pooling and projections. A DLLFA head
whose token level reads the plain frames (`--dllfa_token_frames plain`) keeps them beside the
encoded ones, and one that scores each video's time reversal (`--dllfa_order_fusion caption`)
keeps the encoding of the reversed video: its `frame_side` gives [Nv, T, k D] with k streams, the
encoded frames, then the plain ones, then the reversal's (`frame_streams`, `frame_side_width`).

The same `similarity` serves a training batch (B x B, with autograd) and a full evaluation
(chunked, temporaries under `memory_mb`). Inputs are raw backbone outputs; padded frames and
padded words (rows where the mask is 0) are ignored whatever they contain. Heads compute in
fp32 (fp64 inputs stay fp64) with autocast off and TF32 off for their own matrix products
(`full_precision_matmuls`; the backbone and the temporal encoder may use TF32 on a GPU, the
`--tf32` flag), so cosines are exact under mixed precision.
Normalisation follows CLIP4Clip: frames are L2-normalised before any pooling and the pooled
video vector is compared with the sentence by cosine.
"""
from contextlib import contextmanager
from typing import Iterator, List, Optional

import torch
from torch import nn

from modules.contrastive_loss import symmetric_infonce
from modules.tensor_ops import reverse_real_frames
from modules.temporal_encoder import TemporalEncoder

DEFAULT_MEMORY_MB = 2048.0  # budget of the pairwise scoring temporaries (--sim_memory_mb)


def _full_precision(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.promote_types(x.dtype, torch.float32))


def _zero_padding(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Exact zeros in padded rows: garbage there, even NaN, never reaches a score or a gradient."""
    return torch.where(mask[..., None], _full_precision(x), 0.0)


@contextmanager
def full_precision_matmuls() -> Iterator[None]:
    """fp32 matrix products in full precision (no TF32) inside, whatever the global setting.
    It scopes the forward: a backward runs later, under the global setting."""
    matmul = torch.backends.cuda.matmul
    saved = matmul.fp32_precision
    matmul.fp32_precision = "ieee"
    try:
        yield
    finally:
        matmul.fp32_precision = saved


class RetrievalHead(nn.Module):
    """Shared entry points: clean inputs, autocast off; subclasses set `temporal` (a
    TemporalEncoder or None) and implement encode_text / encode_video / score."""

    temporal: Optional[TemporalEncoder]
    keeps_plain_frames = False  # frame_side also returns the frames the temporal encoder read
    scores_reversal = False  # frame_side also returns the encoding of each video played backwards

    @property
    def frame_streams(self) -> int:
        """How many [Nv, T, D] streams `frame_side` puts side by side: encoded [, plain] [, reversal's]."""
        return 1 + self.keeps_plain_frames + self.scores_reversal

    def frame_side_width(self, embed_dim: int) -> int:
        """The last dimension of `frame_side`'s output for frames of width `embed_dim`."""
        return self.frame_streams * embed_dim

    def text_side(self, sentence: torch.Tensor, words: torch.Tensor, word_mask: torch.Tensor):
        """sentence [Nt, D], words [Nt, L, D], word_mask [Nt, L] (words and EOT)."""
        with torch.autocast(sentence.device.type, enabled=False), full_precision_matmuls():
            mask = word_mask.bool()
            return self.encode_text(_full_precision(sentence), _zero_padding(words, mask), mask)

    def frame_side(self, frames: torch.Tensor, video_mask: torch.Tensor) -> torch.Tensor:
        """frames [Nv, T, D] -> [Nv, T, D] full precision, zero where padded: the temporal
        encoder's output, or the frames themselves without one. With more streams (`frame_streams`)
        [Nv, T, k D]: the encoder's output, then its input where the head `keeps_plain_frames`, then
        where it `scores_reversal` the encoder's output for the video's real frames in reverse order
        (in the slots they were read from). Per video."""
        with torch.autocast(frames.device.type, enabled=False):
            mask = video_mask.bool()
            frames = _zero_padding(frames, mask)
            if self.temporal is None:
                return frames
            streams = [self.temporal(frames, mask)]
            if self.keeps_plain_frames:
                streams.append(frames)
            if self.scores_reversal:
                streams.append(self.temporal(reverse_real_frames(frames, mask), mask))
            return streams[0] if len(streams) == 1 else torch.cat(streams, -1)

    def pool_video(self, frames: torch.Tensor, video_mask: torch.Tensor):
        """frames [Nv, T, k D] from `frame_side`, video_mask [Nv, T] -> the video side of `score`."""
        with torch.autocast(frames.device.type, enabled=False), full_precision_matmuls():
            mask = video_mask.bool()
            return self.encode_video(_zero_padding(frames, mask), mask)

    def video_side(self, frames: torch.Tensor, video_mask: torch.Tensor):
        """frames [Nv, T, D], video_mask [Nv, T] (bool or 0/1)."""
        return self.pool_video(self.frame_side(frames, video_mask), video_mask)

    def similarity(self, text, video, memory_mb: float = DEFAULT_MEMORY_MB) -> torch.Tensor:
        """Cosine scores [Nt, Nv], exact and differentiable (clamped to [-1, 1] against rounding)."""
        with torch.autocast(video.device.type, enabled=False), full_precision_matmuls():
            return self.score(text, video, memory_mb).clamp(-1.0, 1.0)

    def training_similarities(self, text, video, memory_mb: float = DEFAULT_MEMORY_MB) -> List[torch.Tensor]:
        """The score matrices [Nt, Nv] whose InfoNCE losses training sums: the head's `similarity`,
        and a head trained with a loss of its own for a part (DLLFA's token loss) adds that part's."""
        return [self.similarity(text, video, memory_mb)]

    def training_loss(self, text, video, logit_scale: torch.Tensor, positives: Optional[torch.Tensor] = None,
                      memory_mb: float = DEFAULT_MEMORY_MB) -> torch.Tensor:
        """The sum of the symmetric InfoNCE losses (modules/contrastive_loss.py) of `training_similarities`."""
        return sum(symmetric_infonce(sim, logit_scale, positives)
                   for sim in self.training_similarities(text, video, memory_mb))
