"""Retrieval heads: meanP, seqTransf, xpool and DLLFA (with its ablations), one interface.

    text  = head.text_side(sentence, words, word_mask)  # text-only, cacheable
    video = head.video_side(frames, video_mask)         # video-only, cacheable
    sim   = head.similarity(text, video, memory_mb)     # [Nt, Nv] cosine, the only pairwise part

`video_side` is `pool_video(frame_side(frames, mask), mask)`: `frame_side` is the temporal
encoder (per video, so training runs it on each rank's own videos before the gather and
evaluation once per video), `pool_video` the head's own pooling and projections. A DLLFA head
whose token level reads the plain frames (`--dllfa_token_frames plain`) keeps them beside the
encoded ones: its `frame_side` gives [Nv, T, 2D], the encoded frames then the plain ones
(`frame_side_width`).

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
from typing import Iterator, NamedTuple, Optional

import torch
from open_clip.transformer import Transformer
from torch import nn

from modules.errors import InputError
from modules.frame_attention_pooling import FrameAttentionPooling, PooledText, PooledVideos, pooled_similarity
from modules.tensor_ops import masked_mean, normalize
from modules.temporal_encoder import TemporalEncoder

HEAD_NAMES = ("meanP", "seqTransf", "xpool", "dllfa")
DLLFA_LEVELS = ("both", "frame", "token")
TOKEN_FRAMES = ("temporal", "plain")  # --dllfa_token_frames: what DLLFA's token level attends over
FUSIONS = ("learned", "caption")  # --dllfa_fusion besides a fixed weight in [0, 1]
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

    def frame_side_width(self, embed_dim: int) -> int:
        """The last dimension of `frame_side`'s output for frames of width `embed_dim`."""
        return 2 * embed_dim if self.keeps_plain_frames else embed_dim

    def text_side(self, sentence: torch.Tensor, words: torch.Tensor, word_mask: torch.Tensor):
        """sentence [Nt, D], words [Nt, L, D], word_mask [Nt, L] (words and EOT)."""
        with torch.autocast(sentence.device.type, enabled=False), full_precision_matmuls():
            mask = word_mask.bool()
            return self.encode_text(_full_precision(sentence), _zero_padding(words, mask), mask)

    def frame_side(self, frames: torch.Tensor, video_mask: torch.Tensor) -> torch.Tensor:
        """frames [Nv, T, D] -> [Nv, T, D] full precision, zero where padded: the temporal
        encoder's output, or the frames themselves without one; [Nv, T, 2D] (the encoder's
        output, then its input) when the head `keeps_plain_frames`. Per video."""
        with torch.autocast(frames.device.type, enabled=False):
            mask = video_mask.bool()
            frames = _zero_padding(frames, mask)
            if self.temporal is None:
                return frames
            encoded = self.temporal(frames, mask)
            return torch.cat([encoded, frames], -1) if self.keeps_plain_frames else encoded

    def pool_video(self, frames: torch.Tensor, video_mask: torch.Tensor):
        """frames [Nv, T, D or 2D] from `frame_side`, video_mask [Nv, T] -> the video side of `score`."""
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


class AttentionText(NamedTuple):
    frame: Optional[PooledText]  # the sentence, weight lambda
    token: Optional[PooledText]  # the words, weights (1 - lambda) * beta


class AttentionVideo(NamedTuple):
    frame: Optional[PooledVideos]  # over the encoded frames
    token: Optional[PooledVideos]  # over the encoded frames, or the plain ones (--dllfa_token_frames plain)

    @property
    def device(self) -> torch.device:
        return next(side for side in self if side is not None).gram.device


class AttentionPoolingHead(RetrievalHead):
    """DLLFA (and xpool as its sentence-only, order-free, non-residual case).

    Frame level: the sentence attends over the frames, sim_frame = cos(s, v_s). Token level:
    every word attends over the frames with its own projections, sim_l = cos(w_l, v_l), pooled
    with text-only weights beta = softmax_L(mlp(LN(w)) + mask). Fusion: sim = lambda * sim_frame +
    (1 - lambda) * sim_token, lambda in [0, 1] one of (`FUSIONS`):
    - a fixed number;
    - "learned": sigmoid of one learned scalar (0.5 at init);
    - "caption": per caption, lambda_i = sigmoid(g . LN(s_i)) from its sentence feature, g = 0 at
      init (0.5). Why it learns where the scalar does not: Adam moves every parameter by about lr
      per step whatever the size of its gradient, so one scalar logit moves at most ~lr * steps
      (0.1 over 1,000 steps at the recipe's 1e-4: lambda stays within 0.5 +- 0.025) and noisy
      gradient signs shrink that further; g has D entries, each moving ~lr along the same
      LayerNormed (|entry| ~ 1) sentence features, so the logit moves up to ~D * lr per step (0.05
      at D = 512), the same reasoning as the LayerNorms before q and k. Per caption, it can also
      lean on the frame level for one caption and on the words for another.
    Token frames (`TOKEN_FRAMES`, `--dllfa_token_frames`): the frame level attends over the temporal
    encoder's output; the token level over it too ("temporal", the default) or over the plain frames
    the encoder read ("plain"). On plain frames the token level is order-free: a video and its
    reversal get the same token score, so what tells them apart in the fused score is the frame
    level's order reading alone. On encoded frames the token level reads order too, which helps
    where words carry it (contextual word features: "left" after "moves") and is noise where they
    do not, noise that can outvote the frame level since the token level carries most of the fused
    score. Measured (docs/feature_benchmark.md, docs/demo.md): "plain" reads order better on the
    feature benchmark, whose word features carry no order; "temporal" learns the direction of a
    motion on the pixel demo, where "plain" does not.
    Each lambda keeps the fused score a convex combination of the levels' cosines (in [-1, 1],
    at the same temperature): lambda at 1 or 0 gives a level alone. The fusion and pooling
    weights are folded into the text side, so each level is one weighted `pooled_similarity`
    and the fused score is their sum. Each level LayerNorms its inputs before
    q and k and starts its value map at the identity, so that attention learns at CLIP's width
    and the recipe's lr (`modules/frame_attention_pooling.py`); with uniform attention a residual
    level scores exactly like the mean of its frames (meanP, or seqTransf with the temporal encoder)."""

    def __init__(self, embed_dim: int, attention_dim: int, levels: str, temporal: Optional[TemporalEncoder],
                 fusion: Optional[float], residual: bool, keeps_plain_frames: bool = False):
        super().__init__()
        self.temporal = temporal
        self.keeps_plain_frames = keeps_plain_frames  # the token level reads the encoder's input (build_head)
        self.frame_level = FrameAttentionPooling(embed_dim, attention_dim, residual) \
            if levels in ("both", "frame") else None
        self.token_level = FrameAttentionPooling(embed_dim, attention_dim, residual) \
            if levels in ("both", "token") else None
        # a LayerNorm first, as before q and k (unit-norm words would give near-equal weights at D=512);
        # the output layer has no bias: softmax_L ignores a shift, it would never get a gradient
        self.word_weights = nn.Sequential(nn.LayerNorm(embed_dim, bias=False), nn.Linear(embed_dim, attention_dim),
                                          nn.GELU(), nn.Linear(attention_dim, 1, bias=False)) \
            if self.token_level is not None else None
        both = levels == "both"
        self.fusion = fusion if both else None
        self.fusion_logit = nn.Parameter(torch.zeros(())) if self.fusion == "learned" else None
        self.fusion_gate = None
        if self.fusion == "caption":  # g . LN(s); no bias: a shared shift is what "learned" does, too slowly
            self.fusion_gate = nn.Sequential(nn.LayerNorm(embed_dim, bias=False), nn.Linear(embed_dim, 1, bias=False))
            nn.init.zeros_(self.fusion_gate[1].weight)

    def frame_weight(self, sentence: Optional[torch.Tensor] = None) -> float | torch.Tensor:
        """lambda: 1 or 0 with a single level, else the fixed weight, the learned scalar, or with
        per-caption fusion a [Nt, 1] column for the sentences [Nt, D] (full precision, raw)."""
        if self.fusion_gate is not None:
            return torch.sigmoid(self.fusion_gate(normalize(sentence)))  # [Nt, 1]
        if self.fusion_logit is not None:
            return torch.sigmoid(self.fusion_logit)
        if self.fusion is not None:
            return self.fusion
        return 1.0 if self.frame_level is not None else 0.0

    def encode_text(self, sentence, words, word_mask) -> AttentionText:
        lam = self.frame_weight(sentence)  # a number, a scalar tensor or [Nt, 1]
        frame = token = None
        if self.frame_level is not None:
            single = torch.ones_like(word_mask[:, :1])  # [Nt, 1]
            frame = self.frame_level.text_side(sentence[:, None], single, lam * single.to(sentence.dtype))
        if self.token_level is not None:
            logits = self.word_weights(normalize(words))[..., 0]  # [Nt, L]
            beta = logits.masked_fill(~word_mask, torch.finfo(logits.dtype).min).softmax(-1)
            token = self.token_level.text_side(words, word_mask, (1 - lam) * beta)
        return AttentionText(frame, token)

    def encode_video(self, frames, mask) -> AttentionVideo:
        streams = frames.chunk(2, dim=-1) if self.keeps_plain_frames else (frames,)  # encoded [, plain]
        inputs = []
        for stream in streams:
            stream = normalize(stream)  # [Nv, T, D] unit-norm, zero where padded
            inputs.append((stream, masked_mean(stream, mask)))  # and its mean [Nv, D]
        # the frame level reads the encoded frames, the token level the last stream (plain ones where kept)
        return AttentionVideo(*(None if level is None else level.video_side(stream, mean, mask)
                                for level, (stream, mean) in ((self.frame_level, inputs[0]),
                                                              (self.token_level, inputs[-1]))))

    def score(self, text: AttentionText, video: AttentionVideo, memory_mb) -> torch.Tensor:
        return sum(pooled_similarity(t, v, memory_mb) for t, v in zip(text, video) if t is not None)


def build_head(name: str, embed_dim: int, max_frames: int, temporal_layers: int = 4,
               clip_text_transformer: Optional[Transformer] = None,
               clip_positional_embedding: Optional[torch.Tensor] = None, attention_dim: int = 64,
               dllfa_levels: str = "both", dllfa_temporal: bool = True,
               dllfa_fusion: float | str = "caption", temporal_centering: bool = False,
               dllfa_token_frames: str = "temporal") -> RetrievalHead:
    """The head named by --sim_header. The temporal encoder (seqTransf, dllfa) starts from the
    first `temporal_layers` CLIP text blocks and positional rows when their width is
    `embed_dim` (CLIP4Clip's init), randomly otherwise. xpool is sentence-level attention
    without temporal encoder and without residual (values from the LayerNormed frames, as X-Pool); the dllfa_* flags select DLLFA's ablations
    (`dllfa_fusion`: a weight in [0, 1] or one of FUSIONS; it only applies to levels "both"). `temporal_centering`
    feeds the temporal encoder each frame minus its video's mean (see TemporalEncoder)."""
    if name not in HEAD_NAMES:
        raise InputError(f"unknown head {name!r}; use one of {', '.join(HEAD_NAMES)}")
    if dllfa_levels not in DLLFA_LEVELS:
        raise InputError(f"unknown DLLFA levels {dllfa_levels!r}; use one of {', '.join(DLLFA_LEVELS)}")
    if dllfa_token_frames not in TOKEN_FRAMES:
        raise InputError(f"unknown DLLFA token frames {dllfa_token_frames!r}; use one of {', '.join(TOKEN_FRAMES)}")
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
    return AttentionPoolingHead(embed_dim, attention_dim, dllfa_levels, encoder, dllfa_fusion, residual=True,
                                keeps_plain_frames=token_plain and encoder is not None and dllfa_levels == "both")
