"""Naive materialising reference implementations of every head: the oracle of the tests and the
"naive" path of `bench/eval_similarity.py`.

They follow the formulas of docs/method.md literally with the head's own parameters, and
share none of the fast path's tricks: the temporal encoder sees each video's real frames alone
(no padding mask), the LayerNorms are written out, attention is a -inf masked softmax, the
residual mean is added after the pooling, and every text-conditioned video vector is materialised ([Nt, Nv, D] at the frame
level, [Nt, L, Nv, D] at the token level) before its cosine is taken.
"""
import torch

from modules.attention_head import AttentionPoolingHead
from modules.retrieval_heads import MeanPoolingHead
from modules.tensor_ops import EPS


def cosine(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """x [..., D], v [..., D] (broadcast) -> cos with both squared norms clamped at EPS."""
    return (x * v).sum(-1) / ((x * x).sum(-1).clamp_min(EPS) * (v * v).sum(-1).clamp_min(EPS)).sqrt()


def unit(x: torch.Tensor) -> torch.Tensor:
    return x / (x * x).sum(-1, keepdim=True).clamp_min(EPS).sqrt()


def ordered_frames(head, frames: torch.Tensor, video_mask: torch.Tensor):
    """Per video: its real frames in order, through the temporal encoder run on them alone,
    L2-normalised, zero-padded back to [Nv, T, D]; then, for a head that keeps them, the plain frames
    and for one that scores reversals the encoder's output for the real frames in reverse order, each
    L2-normalised ([Nv, T, k D]); also the mask [Nv, T] (real frames first)."""
    videos, count, width = frames.shape
    out = frames.new_zeros(videos, count, head.frame_side_width(width))
    mask = torch.zeros(videos, count, dtype=torch.bool)
    for j in range(videos):
        keep = video_mask[j].bool()
        plain = frames[j][keep]  # [n, D]
        streams = [plain]
        if head.temporal is not None:
            positions = head.temporal.positions[torch.arange(count)[keep]]  # [n, D] the real frames' slots

            def encode(x):
                return x + head.temporal.transformer((x + positions)[None])[0] - positions

            streams = [encode(plain)] + [plain] * head.keeps_plain_frames + [encode(plain.flip(0))] * head.scores_reversal
        out[j, :len(plain)] = torch.cat([unit(stream) for stream in streams], -1)
        mask[j, :len(plain)] = True
    return out, mask


def layer_norm(norm, x: torch.Tensor) -> torch.Tensor:
    """The LayerNorm `norm` (gain only) written out: (x - mean) / sqrt(var + eps) * gain."""
    centred = x - x.mean(-1, keepdim=True)
    return centred / (centred.pow(2).mean(-1, keepdim=True) + norm.eps).sqrt() * norm.weight


def naive_level(level, rows: torch.Tensor, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """rows [N, L, D], frames [Nv, T, D] unit-norm, mask [Nv, T] -> cos(x_nl, v_nlj) [N, L, Nv]."""
    queries = level.query(layer_norm(level.query_norm, unit(rows))) / level.attention_dim ** 0.5  # [N, L, d]
    normed = layer_norm(level.key_norm, frames)  # [Nv, T, D]
    keys = level.key(normed)  # [Nv, T, d]
    logits = torch.einsum("nld,vtd->nlvt", queries, keys).masked_fill(~mask, float("-inf"))
    attention = logits.softmax(-1)  # [N, L, Nv, T]
    values = level.value(frames if level.residual else normed)  # [Nv, T, D]
    pooled = torch.einsum("nlvt,vtd->nlvd", attention, values)  # [N, L, Nv, D]
    if level.residual:
        mean = frames.sum(1) / mask.sum(1, keepdim=True)  # [Nv, D]
        pooled = pooled + mean
    return cosine(rows[:, :, None], pooled)


def naive_similarity(head, sentence, words, word_mask, frames, video_mask) -> torch.Tensor:
    """[Nt, Nv] scores of `head` computed the slow, literal way."""
    return naive_scores(head, sentence, words, word_mask, *ordered_frames(head, frames, video_mask))


def naive_scores(head, sentence, words, word_mask, ordered, mask) -> torch.Tensor:
    """The pairwise part: raw text features against `ordered_frames` -> [Nt, Nv]."""
    if isinstance(head, MeanPoolingHead):
        video = (ordered.sum(1) / mask.sum(1, keepdim=True))  # [Nv, D]
        return cosine(sentence[:, None], video[None])
    assert isinstance(head, AttentionPoolingHead)
    if head.fusion_gate is not None:  # per caption: sigmoid(g . LN(unit(s))), [Nt, 1]
        norm, gate = head.fusion_gate
        lam = torch.sigmoid(layer_norm(norm, unit(sentence)) @ gate.weight.T)
    else:
        lam = head.frame_weight()  # a number or a scalar tensor
    streams = ordered.chunk(head.frame_streams, -1)  # encoded [, plain] [, reversal's]
    encoded, token_frames = streams[0], streams[1 if head.keeps_plain_frames else 0]

    def frame_score(frames):  # [Nt, Nv]
        return naive_level(head.frame_level, sentence[:, None], frames, mask)[:, 0]

    def token_score(frames):  # [Nt, Nv]
        sims = naive_level(head.token_level, words, frames, mask)  # [Nt, L, Nv]
        norm, *mlp = head.word_weights
        logits = torch.nn.Sequential(*mlp)(layer_norm(norm, unit(words)))[..., 0].masked_fill(~word_mask, float("-inf"))
        beta = logits.softmax(-1)  # [Nt, L]
        return (beta[..., None] * sims.masked_fill(~word_mask[..., None], 0)).sum(1)

    word_mask = word_mask.bool()
    if head.scores_reversal:  # sum_l w_l (c_l + c'_l) / 2 + u_l (c_l - c'_l) / 2
        norm, gate = head.order_gate
        mu = torch.sigmoid(layer_norm(norm, unit(sentence)) @ gate.weight.T)  # [Nt, 1]
        reversal = streams[-1]
        frame, frame_reversed = frame_score(encoded), frame_score(reversal)
        token, token_reversed = token_score(token_frames), token_score(reversal)
        return (lam * (frame + frame_reversed) / 2 + mu * (frame - frame_reversed) / 2
                + (1 - lam) * (token + token_reversed) / 2 + (1 - mu) * (token - token_reversed) / 2)
    sim = 0.0
    if head.frame_level is not None:
        sim = sim + lam * frame_score(encoded)
    if head.token_level is not None:
        sim = sim + (1 - lam) * token_score(token_frames)
    return sim

