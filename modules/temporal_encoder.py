"""Temporal encoder: frames in temporal order, `Fo = F + TE(F + P) - P` (CLIP4Clip's seqTransf, less `P`).

`P` is a learned table of frame positions, `TE` a stack of open_clip residual attention
blocks over the frames of one video, with a key-padding mask and no causal mask. It is
text-independent, so evaluation runs it once per video.

Why `- P`: the blocks are residual, `TE(x) = x + U(x)` with `U` the sum of their updates, so
CLIP4Clip's `F + TE(F + P)` is `2F + P + U(F + P)`: the positions, which the blocks need to read
the order, also come out as `P_t` added to frame t of every video. That term is the same for every
video, so it tells no video from another; it moves every attention logit on frame t by the same
amount for all videos (attention by position rather than by content), and when `P` starts at unit
scale it outweighs the frames. Here `Fo = 2F + U(F + P)`: the order reaches the output only through
what the blocks make of it. It is kept for that mechanism, not as a cure for stalls: on the pixel
demo's seed 3 dllfa sat on the initial loss plateau for 12 epochs with `P` in the output and leaves
it at epoch 4 without it, while seqTransf goes the other way (docs/demo.md). With CLIP's weights,
`P` starts from CLIP's positional embedding and the two formulations differ by that term; what it
does on real data is not measured here.

Centring (`centre=True`, `--temporal_centering`): `Fo = F + TE(F - mean_t F + P) - P`, the mean over
the video's real frames. The transformer then sees how each frame differs from the rest of
its video, which its LayerNorms scale up to unit size, while the residual `F` keeps the content.
It matters when the frames of a video are nearly the same vector: a tiny CLIP trained from
scratch on the synthetic dataset gives cos 0.99 between the first and last frame of a shape
moving across the image, so without centring the order signal is 1% of what the transformer
sees (docs/demo.md). Off by default: the reference formulation, and what CLIP4Clip's
text-block initialisation was made for.

Initialisation: given a pretrained CLIP text tower of the head's width, its first blocks
initialise `TE` and the first rows of its positional embedding initialise `P` (CLIP4Clip's
known-good start); layers beyond the text tower's depth, and everything when the widths
differ or no CLIP is given (a CLIP trained from scratch), are initialised randomly, the
positions at unit scale.
"""
from typing import Optional

import torch
from open_clip.transformer import QuickGELU, Transformer
from torch import nn

from modules.errors import InputError
from modules.tensor_ops import masked_mean

HEAD_WIDTH = 64  # attention head width of a randomly initialised encoder (CLIP's)
# Random frame positions start at unit scale per dimension, like the features the pre-norm blocks
# see after LayerNorm: positions 100x weaker (CLIP's own 0.01 init) leave order all but invisible
# to a model trained from scratch, which then settles on order-blind features (docs/demo.md).
RANDOM_POSITION_STD = 1.0


def key_padding_bias(mask: torch.Tensor, heads: int, dtype: torch.dtype) -> torch.Tensor:
    """mask [N, T] bool (True = real frame) -> additive attention mask [N * heads, T, T].

    The bias is the most negative finite value rather than -inf, so that a video without a
    real frame gives finite (and afterwards discarded) rows instead of NaN."""
    batch, frames = mask.shape
    bias = torch.zeros(batch, frames, dtype=dtype, device=mask.device)
    bias = bias.masked_fill(~mask, torch.finfo(dtype).min)
    return bias[:, None, None, :].expand(batch, heads, frames, frames).reshape(batch * heads, frames, frames)


class TemporalEncoder(nn.Module):
    def __init__(self, embed_dim: int, max_frames: int, layers: int,
                 clip_text_transformer: Optional[Transformer] = None,
                 clip_positional_embedding: Optional[torch.Tensor] = None, centre: bool = False):
        super().__init__()
        if layers < 1:
            raise InputError(f"the temporal encoder needs at least one layer, got {layers}")
        source = clip_text_transformer if clip_text_transformer is not None and \
            clip_text_transformer.width == embed_dim else None
        if source is not None:
            block = source.resblocks[0]
            heads, act_layer = block.attn.num_heads, type(block.mlp.gelu)
            mlp_ratio = block.mlp.c_fc.out_features / embed_dim
        else:
            heads, act_layer, mlp_ratio = max(1, embed_dim // HEAD_WIDTH), QuickGELU, 4.0
        self.max_frames = max_frames
        self.heads = heads
        self.centre = centre
        self.transformer = Transformer(embed_dim, layers, heads, mlp_ratio, act_layer=act_layer)
        if source is not None:
            for target, block in zip(self.transformer.resblocks, source.resblocks):
                target.load_state_dict(block.state_dict())
        self.positions = nn.Parameter(torch.empty(max_frames, embed_dim))  # P [T_max, D]
        with torch.no_grad():
            if clip_positional_embedding is not None and clip_positional_embedding.shape[1] == embed_dim \
                    and clip_positional_embedding.shape[0] >= max_frames:
                self.positions.copy_(clip_positional_embedding[:max_frames])
            else:
                nn.init.normal_(self.positions, std=RANDOM_POSITION_STD)

    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """frames [N, T, D] (padded rows zero), mask [N, T] bool -> Fo [N, T, D], zero where padded."""
        count = frames.shape[1]
        if count > self.max_frames:
            raise InputError(f"{count} frames per video exceed the position table of {self.max_frames} "
                             "(--max_frames)")
        bias = key_padding_bias(mask, self.heads, frames.dtype)  # [N * heads, T, T]
        inputs = frames
        if self.centre:
            real = mask[..., None].to(frames.dtype)  # [N, T, 1]
            inputs = (frames - masked_mean(frames * real, mask)[:, None]) * real
        positions = self.positions[:count]  # [T, D]
        encoded = self.transformer(inputs + positions, attn_mask=bias) - positions  # [N, T, D]
        return (frames + encoded) * mask[..., None]
