"""Retrieval heads: meanP, seqTransf, xpool and DLLFA (with its ablations), one interface.

    text  = head.text_side(sentence, words, word_mask)  # text-only, cacheable
    video = head.video_side(frames, video_mask)         # video-only, cacheable
    sim   = head.similarity(text, video, memory_mb)     # [Nt, Nv] cosine, the only pairwise part

The interface and what every head shares are in `modules/head_base.py`, DLLFA and xpool in
`modules/attention_head.py`; here the mean-pooling heads and `build_head`, which builds the head
named by --sim_header from the flags.
"""
from typing import Optional

import torch
from open_clip.transformer import Transformer

from modules.attention_head import ORDER_FUSIONS, AttentionPoolingHead
from modules.errors import InputError
from modules.head_base import DEFAULT_MEMORY_MB, RetrievalHead, full_precision_matmuls  # noqa: F401 (re-exported)
from modules.tensor_ops import masked_mean, normalize
from modules.temporal_encoder import TemporalEncoder

HEAD_NAMES = ("meanP", "seqTransf", "xpool", "dllfa")
DLLFA_LEVELS = ("both", "frame", "token")
TOKEN_FRAMES = ("temporal", "plain")  # --dllfa_token_frames: what DLLFA's token level attends over
FUSIONS = ("learned", "caption")  # --dllfa_fusion besides a fixed weight in [0, 1]


class MeanPoolingHead(RetrievalHead):
    """meanP (no temporal encoder) and seqTransf (CLIP4Clip): cosine of the sentence with the
    masked mean of the L2-normalised (temporally encoded) frames. `memory_mb` is not needed: the
    video vector is text-independent and the only pairwise tensor is the [Nt, Nv] result."""

    def __init__(self, temporal: Optional[TemporalEncoder]):
        super().__init__()
        self.temporal = temporal

    def encode_text(self, sentence, words, word_mask) -> torch.Tensor:
        return normalize(sentence)  # [Nt, D]

    def encode_video(self, frames, mask) -> torch.Tensor:
        return normalize(masked_mean(normalize(frames), mask))  # [Nv, D]

    def score(self, text, video, memory_mb) -> torch.Tensor:
        return text @ video.T


def build_head(name: str, embed_dim: int, max_frames: int, temporal_layers: int = 4,
               clip_text_transformer: Optional[Transformer] = None,
               clip_positional_embedding: Optional[torch.Tensor] = None, attention_dim: int = 64,
               dllfa_levels: str = "both", dllfa_temporal: bool = True,
               dllfa_fusion: float | str = "caption", temporal_centering: bool = False,
               dllfa_token_frames: str = "temporal", dllfa_order_fusion: str = "caption",
               dllfa_token_loss: bool = False) -> RetrievalHead:
    """The head named by --sim_header. The temporal encoder (seqTransf, dllfa) starts from the
    first `temporal_layers` CLIP text blocks and positional rows when their width is
    `embed_dim` (CLIP4Clip's init), randomly otherwise. xpool is sentence-level attention
    without temporal encoder and without residual (values from the LayerNormed frames, as X-Pool);
    the dllfa_* flags select DLLFA's ablations. `dllfa_fusion`: a weight in [0, 1] or one of
    FUSIONS; it only applies to levels "both". `temporal_centering` feeds the temporal encoder each
    frame minus its video's mean (see TemporalEncoder). `dllfa_order_fusion` "caption" (the default)
    weighs the two levels' order readings apart from the rest of their scores; it applies where both
    levels read the temporal encoder's output. Elsewhere (one level, no encoder, the token level on
    plain frames, another head) the order reading is shared with the rest of the score, as
    `dllfa_fusion` goes unused with one level: with one level the two fusions are the same score,
    without an encoder a reversal changes no score, and on plain frames the token level reads no
    order of its own to weigh apart. `dllfa_token_loss` trains DLLFA's token level with an InfoNCE of
    its own on what a reversal keeps (modules/attention_head.py); it needs order fusion."""
    if name not in HEAD_NAMES:
        raise InputError(f"unknown head {name!r}; use one of {', '.join(HEAD_NAMES)}")
    if dllfa_levels not in DLLFA_LEVELS:
        raise InputError(f"unknown DLLFA levels {dllfa_levels!r}; use one of {', '.join(DLLFA_LEVELS)}")
    if dllfa_token_frames not in TOKEN_FRAMES:
        raise InputError(f"unknown DLLFA token frames {dllfa_token_frames!r}; use one of {', '.join(TOKEN_FRAMES)}")
    if dllfa_order_fusion not in ORDER_FUSIONS:
        raise InputError(f"unknown DLLFA order fusion {dllfa_order_fusion!r}; use one of {', '.join(ORDER_FUSIONS)}")
    if dllfa_token_loss and name != "dllfa":
        raise InputError(f"--dllfa_token_loss trains DLLFA's token level; head {name!r} has none")
    if isinstance(dllfa_fusion, str) and dllfa_fusion not in FUSIONS:
        raise InputError(f"unknown DLLFA fusion {dllfa_fusion!r}; use a weight in [0, 1] or one of {', '.join(FUSIONS)}")
    if not isinstance(dllfa_fusion, str) and not 0.0 <= dllfa_fusion <= 1.0:
        raise InputError(f"DLLFA fusion weight must be in [0, 1], got {dllfa_fusion}")

    def temporal() -> TemporalEncoder:
        return TemporalEncoder(embed_dim, max_frames, temporal_layers, clip_text_transformer,
                               clip_positional_embedding, centre=temporal_centering)

    if name == "meanP":
        return MeanPoolingHead(None)
    if name == "seqTransf":
        return MeanPoolingHead(temporal())
    if name == "xpool":
        return AttentionPoolingHead(embed_dim, attention_dim, "frame", None, None, residual=False)
    token_plain = dllfa_token_frames == "plain"
    # the token level alone on plain frames reads no encoder: none is built (its weights would get no gradient);
    # next to a frame level that reads one, the plain frames travel beside its output
    encoder = temporal() if dllfa_temporal and not (dllfa_levels == "token" and token_plain) else None
    both_levels_on_encoder = dllfa_levels == "both" and encoder is not None
    return AttentionPoolingHead(embed_dim, attention_dim, dllfa_levels, encoder, dllfa_fusion, residual=True,
                                keeps_plain_frames=both_levels_on_encoder and token_plain,
                                order_fusion=dllfa_order_fusion if both_levels_on_encoder and not token_plain else "shared",
                                token_loss=dllfa_token_loss)
