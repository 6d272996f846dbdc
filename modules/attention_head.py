"""DLLFA's head and xpool: text-to-frame attention at the sentence and the word level, fused.

The levels' maths and their fast pairwise kernel are in `modules/frame_attention_pooling.py`;
this file is how the levels are built, weighted and fused (`AttentionPoolingHead`), and
`modules/retrieval_heads.py` builds it from the flags.
"""
from typing import List, NamedTuple, Optional, Tuple

import torch
from torch import nn

from modules.frame_attention_pooling import FrameAttentionPooling, PooledText, PooledVideos, pooled_similarity
from modules.errors import InputError
from modules.head_base import DEFAULT_MEMORY_MB, RetrievalHead
from modules.tensor_ops import masked_mean, normalize
from modules.temporal_encoder import TemporalEncoder

ORDER_FUSIONS = ("shared", "caption")  # --dllfa_order_fusion


def _weighted(level: FrameAttentionPooling, rows: torch.Tensor, row_mask: torch.Tensor, pooling: torch.Tensor,
              weights: Tuple) -> Tuple[Optional[PooledText], Optional[PooledText]]:
    """A level's text sides that score the video and (order fusion) its reversal: its rows [Nt, L, D]
    with the pooling weights [Nt, L] times each fusion weight (a number, a scalar tensor or [Nt, 1]; the
    second may be None). The product goes into `text_side` as one factor, so that the shared fusion
    rounds as it always has (its trained tables repeat to the last digit)."""
    return tuple(None if weight is None else level.text_side(rows, row_mask, weight * pooling) for weight in weights)


class AttentionText(NamedTuple):
    frame: Optional[PooledText]  # the sentence, weight lambda (a_frame with order fusion)
    token: Optional[PooledText]  # the words, weights (1 - lambda) * beta (a_token * beta)
    frame_reversed: Optional[PooledText] = None  # order fusion: the sentence, weight b_frame, for the reversal
    token_reversed: Optional[PooledText] = None  # order fusion: the words, weights b_token * beta
    # training with the token loss: the words alone, weights beta / 2 for the video and beta / 2 for its reversal
    token_order_free: Optional[Tuple[PooledText, PooledText]] = None


class AttentionVideo(NamedTuple):
    frame: Optional[PooledVideos]  # over the encoded frames
    token: Optional[PooledVideos]  # over the encoded frames, or the plain ones (--dllfa_token_frames plain)
    frame_reversed: Optional[PooledVideos] = None  # order fusion: over the encoding of the video played backwards
    token_reversed: Optional[PooledVideos] = None  # order fusion: the same, for the token level

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
    Order fusion (`ORDER_FUSIONS`, `--dllfa_order_fusion`): "shared" (an ablation) is the score above,
    where lambda weighs each level's order reading with the rest of its score. "caption" (the default
    where both levels read the temporal encoder: build_head) gives the
    order reading a weight of its own: each level also scores the video played backwards (c'_l; a
    temporal encoder makes it differ from c_l), and the part of the score that changes sign under
    reversal is fused apart from the part that does not:
        sim = sum_l w_l (c_l + c'_l) / 2 + u_l (c_l - c'_l) / 2,   w = (lambda, 1 - lambda), u = (mu, 1 - mu)
    with mu_i = sigmoid(h . LN(s_i)), a second per-caption gate (h = 0 at init: mu = 0.5); mu =
    lambda gives the shared score back. Why: lambda is set by what finds the described events, and
    where the token level finds them far better it sinks (0.02-0.03 after training on the feature
    benchmark, on every caption kind): the frame level's order reading then counts a few percent of
    the fused score and the token level's, noise where words carry no order, outvotes it. With its
    own weight each level's order reading counts for what it reads of order, whatever it finds of
    the events. Folded as above: level l scores the video with a_l = (w_l + u_l) / 2 and the
    reversal with b_l = (w_l - u_l) / 2, one weighted `pooled_similarity` each. Cost: the temporal
    encoder runs twice per video, the pairwise work and the evaluation's frame cache double. The
    fused score stays within [-(1 + |lambda - mu|), 1 + |lambda - mu|] (|a_l| + |b_l| = max(w_l, u_l)),
    and `similarity` clamps it to [-1, 1] as for every head.
    Each lambda keeps the fused score a convex combination of the levels' cosines (in [-1, 1],
    at the same temperature): lambda at 1 or 0 gives a level alone. The fusion and pooling
    weights are folded into the text side, so each level is one weighted `pooled_similarity`
    and the fused score is their sum.
    Token loss (`--dllfa_token_loss`, with order fusion): training adds the InfoNCE of the token level
    alone on what a reversal keeps, (c_token + c'_token) / 2, to the fused one (`training_similarities`).
    Why: with the frame level's order reading weighed apart, the fused loss trains the temporal encoder
    that both levels read towards order, and the token level finds the described events less well
    than under the shared fusion; a loss of its own on its order-free part trains the encoder for the
    events too, and asks nothing of the token level's order reading. Measured, it buys events back for
    some of the order reading on the feature benchmark and loses on the pixel demo, where the token level
    reads a motion's direction (docs/feature_benchmark.md, docs/demo.md): off by default. Evaluation scores as
    without it.
    Each level LayerNorms its inputs before
    q and k and starts its value map at the identity, so that attention learns at CLIP's width
    and the recipe's lr (`modules/frame_attention_pooling.py`); with uniform attention a residual
    level scores exactly like the mean of its frames (meanP, or seqTransf with the temporal encoder)."""

    def __init__(self, embed_dim: int, attention_dim: int, levels: str, temporal: Optional[TemporalEncoder],
                 fusion: Optional[float], residual: bool, keeps_plain_frames: bool = False,
                 order_fusion: str = "shared", token_loss: bool = False):
        super().__init__()
        self.temporal = temporal
        self.keeps_plain_frames = keeps_plain_frames  # the token level reads the encoder's input (build_head)
        self.scores_reversal = order_fusion == "caption"  # both levels read a temporal encoder (build_head)
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
        if token_loss and not (self.scores_reversal and both):
            raise InputError("the token loss (--dllfa_token_loss) scores the token level on a video and its reversal: "
                             "it needs both levels over the temporal encoder with --dllfa_order_fusion caption")
        self.token_loss = token_loss
        self.order_gate = None
        if self.scores_reversal:  # h . LN(s), as the fusion gate
            self.order_gate = nn.Sequential(nn.LayerNorm(embed_dim, bias=False), nn.Linear(embed_dim, 1, bias=False))
            nn.init.zeros_(self.order_gate[1].weight)

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

    def order_weight(self, sentence: torch.Tensor) -> Optional[torch.Tensor]:
        """mu [Nt, 1] for the sentences [Nt, D] with order fusion, else None (the shared score)."""
        return None if self.order_gate is None else torch.sigmoid(self.order_gate(normalize(sentence)))

    def encode_text(self, sentence, words, word_mask) -> AttentionText:
        lam = self.frame_weight(sentence)  # a number, a scalar tensor or [Nt, 1]
        mu = self.order_weight(sentence)  # None or [Nt, 1]
        # (weight of the level's score of the video, of its reversal): (w, none) or (a, b) = ((w + u) / 2, (w - u) / 2)
        frame_weights = (lam, None) if mu is None else ((lam + mu) / 2, (lam - mu) / 2)
        token_weights = (1 - lam, None) if mu is None else ((2 - lam - mu) / 2, (mu - lam) / 2)
        frame = token = (None, None)
        if self.frame_level is not None:
            single = torch.ones_like(word_mask[:, :1])  # [Nt, 1]
            frame = _weighted(self.frame_level, sentence[:, None], single, single.to(sentence.dtype), frame_weights)
        if self.token_level is not None:
            logits = self.word_weights(normalize(words))[..., 0]  # [Nt, L]
            beta = logits.masked_fill(~word_mask, torch.finfo(logits.dtype).min).softmax(-1)
            token = _weighted(self.token_level, words, word_mask, beta, token_weights)
        order_free = None
        if self.token_loss and self.training:  # the same side scores the video and its reversal
            half = self.token_level.text_side(words, word_mask, 0.5 * beta)
            order_free = (half, half)
        return AttentionText(frame[0], token[0], frame[1], token[1], order_free)

    def encode_video(self, frames, mask) -> AttentionVideo:
        inputs = []
        for stream in frames.chunk(self.frame_streams, dim=-1):  # encoded [, plain] [, reversal's]
            stream = normalize(stream)  # [Nv, T, D] unit-norm, zero where padded
            inputs.append((stream, masked_mean(stream, mask)))  # and its mean [Nv, D]
        encoded = inputs[0]
        token_input = inputs[1] if self.keeps_plain_frames else encoded
        reversal = inputs[-1] if self.scores_reversal else None

        def side(level, stream_and_mean):
            return None if level is None or stream_and_mean is None else level.video_side(*stream_and_mean, mask)

        return AttentionVideo(side(self.frame_level, encoded), side(self.token_level, token_input),
                              side(self.frame_level, reversal), side(self.token_level, reversal))

    def score(self, text: AttentionText, video: AttentionVideo, memory_mb) -> torch.Tensor:
        scored = text[:len(AttentionVideo._fields)]  # the levels' sides; not the token loss's
        return sum(pooled_similarity(t, v, memory_mb) for t, v in zip(scored, video) if t is not None)

    def training_similarities(self, text: AttentionText, video: AttentionVideo,
                              memory_mb: float = DEFAULT_MEMORY_MB) -> List[torch.Tensor]:
        """The fused scores [Nt, Nv] and, with the token loss (a text side from training mode), the
        token level's order-free scores [Nt, Nv]."""
        scores = [self.similarity(text, video, memory_mb)]
        if text.token_order_free is not None:
            forward, backward = text.token_order_free
            scores.append(self.similarity(AttentionText(None, forward, None, backward), video, memory_mb))
        return scores
