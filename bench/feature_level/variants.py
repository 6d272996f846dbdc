"""The heads of the benchmark: every head and ablation of the repository, and the attention
without its LayerNorms and starting values, built from the repository's modules, for the table
of what each of the three does.

`plain_attention(head)` swaps the LayerNorms before q, k and the word-weight MLP for identities,
restarts q and k from nn.Linear's default init and the value maps W at N(0, (0.1 / sqrt(D))^2):
q, k and the MLP on the unit-norm rows, W small and random, for DLLFA's residual levels. Its
three parts, `without_layernorm`, `random_query_key_start` and `small_value_start`, take away
one of the three at a time.
"""
import math
from typing import Callable, Dict, Optional

import torch
from torch import nn

from modules.frame_attention_pooling import FrameAttentionPooling
from modules.attention_head import AttentionPoolingHead
from modules.head_base import RetrievalHead
from modules.retrieval_heads import build_head

EMBED_DIM, FRAMES = 512, 12
SMALL_VALUE_STD = 0.1  # a small random value map: |W f| ~ 0.1 |f|

# name -> (--sim_header, build_head flags); the same heads and switches as the CLI.
HEADS: Dict[str, tuple] = {
    "meanP": ("meanP", {}),
    "seqTransf": ("seqTransf", {}),
    "xpool": ("xpool", {}),
    "dllfa": ("dllfa", {}),
    "dllfa --dllfa_no_temporal": ("dllfa", {"dllfa_temporal": False}),
    "dllfa --dllfa_levels frame": ("dllfa", {"dllfa_levels": "frame"}),
    "dllfa --dllfa_levels token": ("dllfa", {"dllfa_levels": "token"}),
    "dllfa --dllfa_token_frames plain": ("dllfa", {"dllfa_token_frames": "plain"}),
    "dllfa --dllfa_fusion 0.5": ("dllfa", {"dllfa_fusion": 0.5}),
    "dllfa --dllfa_order_fusion shared": ("dllfa", {"dllfa_order_fusion": "shared"}),
    "dllfa --dllfa_fusion learned": ("dllfa", {"dllfa_fusion": "learned"}),
    "dllfa --dllfa_token_loss": ("dllfa", {"dllfa_token_loss": True}),
}
# The heads of the committed table: all but the scalar learned fusion, which scored as the fixed 0.5
# (its one logit barely moves at lr 1e-4: modules/attention_head.py), and the token loss, measured apart
# (docs/feature_benchmark.md); `--heads` takes them.
DEFAULT_HEADS = tuple(name for name in HEADS if name not in ("dllfa --dllfa_fusion learned", "dllfa --dllfa_token_loss"))


def make_head(name: str, temporal_layers: int, seed: int) -> RetrievalHead:
    """A freshly initialised head (no CLIP weights: the temporal encoder starts randomly)."""
    sim_header, flags = HEADS[name]
    torch.manual_seed(seed)
    return build_head(sim_header, EMBED_DIM, FRAMES, temporal_layers=temporal_layers, **flags)


def without_layernorm(head: AttentionPoolingHead) -> AttentionPoolingHead:
    """q, k and the word-weight MLP on the unit-norm rows (no LayerNorm before them)."""
    for level in head.modules():
        if isinstance(level, FrameAttentionPooling):
            level.query_norm, level.key_norm = nn.Identity(), nn.Identity()
    if head.word_weights is not None:
        head.word_weights[0] = nn.Identity()
    return head


def random_query_key_start(head: AttentionPoolingHead) -> AttentionPoolingHead:
    """q and k from nn.Linear's default init (independent, random) instead of one shared start."""
    for level in head.modules():
        if isinstance(level, FrameAttentionPooling):
            level.query.reset_parameters()
            level.key.reset_parameters()
    return head


def small_value_start(head: AttentionPoolingHead) -> AttentionPoolingHead:
    """W from N(0, (0.1 / sqrt(D))^2) instead of the identity (residual levels)."""
    with torch.no_grad():
        for level in head.modules():
            if isinstance(level, FrameAttentionPooling):
                nn.init.normal_(level.value.weight, std=SMALL_VALUE_STD / math.sqrt(level.value.in_features))
    return head


def plain_attention(head: AttentionPoolingHead) -> AttentionPoolingHead:
    return small_value_start(random_query_key_start(without_layernorm(head)))


def layernorm_only(head: AttentionPoolingHead) -> AttentionPoolingHead:
    return small_value_start(random_query_key_start(head))


def without_identity_value_start(head: AttentionPoolingHead) -> AttentionPoolingHead:
    return small_value_start(head)


def without_shared_query_key_start(head: AttentionPoolingHead) -> AttentionPoolingHead:
    return random_query_key_start(head)


# The table of the attention's three parts: DLLFA without the temporal encoder, one part at a
# time; None is the head as the repository builds it (LayerNorm, shared q/k start, W = I).
FIX_VARIANTS: Dict[str, Optional[Callable[[AttentionPoolingHead], AttentionPoolingHead]]] = {
    "no LayerNorm, random q/k start, small W": plain_attention,
    "LayerNorm before q, k": layernorm_only,
    "LayerNorm + shared q/k start": without_identity_value_start,
    "LayerNorm + W = I": without_shared_query_key_start,
    "LayerNorm + shared q/k start + W = I (the head)": None,
}
