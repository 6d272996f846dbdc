"""Text -> frame attention pooling with exact pairwise cosines that never form [Nt, Nv, D].

One level of the DLLFA head (the sentence, or every word). For a text row x and a video with
unit-norm ordered frames f_t (t real):

    a   = softmax_t(q(LN_q(x)) . k(LN_k(f_t)) / sqrt(d))   d = attention_dim (reduced key width)
    v_x = m + sum_t a_t W f_t        m = mean_t f_t, W = I at init (DLLFA: residual levels)
    v_x = sum_t a_t W LN_k(f_t)      W = I at init (X-Pool style: no residual, LN'd values)
    score(x, video) = cos(x, v_x)

Why the LayerNorms and the starting values (docs/method.md): x and f_t are
unit vectors, |entry| ~ 1/sqrt(D), so with default `nn.Linear` init the logits of a D=512 head
start ~1e-3 apart and Adam at lr 1e-4 barely moves them. Three choices make attention learn
at CLIP's width and the recipe's rate:
- LN_q and LN_k (gain only, no bias) rescale every row to |entry| ~ 1, as X-Pool does;
- q and k start as the same random projection P with orthonormal rows (X-Pool starts both at
  the identity), so the logits start as sqrt(d) times the cosine of LN(x) and LN(f_t) seen
  through P: attention is text-conditioned from the first step (CLIP puts a caption near its
  frames), ~0.5 apart over a video's frames on the feature benchmark, instead of random;
- W starts at the identity: attention reaches the score only through W, and a small random W
  (the formulation before) turns "which frames are attended" into noise, while W = I lets the
  attended frames count from the first step (with uniform attention v = 2 m: DLLFA's residual
  levels then score exactly like the mean of the frames, meanP).

Everything before the pairing is one-sided (LN_q, q on the text; LN_k, k, W on the frames), and
nothing non-linear follows the pooling, so with the value rows U_t (m + W f_t, or W LN_k(f_t))
everything D-wide splits into one side (softmax weights sum to one):

    x . v_x  = sum_t a_t (x . U_t)       the only D-wide pairwise work: rows x frames, one matmul
    |v_x|^2 = a^T G a,   G = U U^T      a [T, T] Gram block per video, text-independent

so a pair costs O(T (d + T)) on top of the shared matmul. The softmax normalisation cancels in
the cosine, so the kernel uses unnormalised weights e = exp(logit) (e^T G e = |v|^2 (sum e)^2
is what gets clamped at EPS). For the same reason padded frames need no mask: their value rows (and so
their Gram rows) are zero, and whatever weight they get adds nothing to either sum. Keys are
centred over each video's real frames (softmax ignores the shift), so the largest logit of
every pair is >= 0 and exp cannot underflow to all zeros. Overflow: under autograd (training)
every chunk subtracts the per-pair max before exp, so that nothing is read back to the host in
the training step; without autograd (evaluation) a chunk is computed as is and recomputed with
the max subtracted only if its logits spread past exp's range (inf or NaN in e^T G e), which
saves two passes over the [V, T, R] logits. Both give the same cosine up to rounding.

Chunks: texts x videos, sized by `plan_chunks` so that the temporaries of one chunk stay under
`memory_mb` (on the CPU also under a cache-sized cap: the per-pair passes are memory bound and
run several times faster on chunks that stay in cache). The kernel works in a [V, T, R] layout
(rows last) so that every reduction over frames is a vectorised sum of contiguous rows.
"""
import math
from typing import NamedTuple

import torch
from torch import nn

from modules.tensor_ops import EPS, masked_mean, squared_norm


TEMPORARIES = 3  # [V, T, R] tensors alive at once in `pooled_scores`
# Temporaries per chunk on the CPU: within a server's L3. On a 36 MB L3 at MSR-VTT size, 32 MB ran about
# 10% faster than 12 MB (bigger matrix products), and 64-96 MB slower again (the per-pair passes leave the cache).
CPU_CHUNK_BYTES = 32 * 2 ** 20


class PooledText(NamedTuple):
    """Text side of one level; every field starts with the text dimension N."""
    rows: torch.Tensor       # [N, L, D] raw rows (sentence: L = 1), zero where padded
    row_mask: torch.Tensor   # [N, L] bool
    queries: torch.Tensor    # [N, L, d] q(x) / sqrt(d)
    weights: torch.Tensor    # [N, L] pooling weight of the row / |x|, zero where padded


class PooledVideos(NamedTuple):
    """Video side of one level; every field starts with the video dimension V."""
    keys: torch.Tensor    # [V, T, d] k(f_t) centred over the real frames, zero where padded
    values: torch.Tensor  # [V, T, D] U_t = m + W f_t, zero where padded
    gram: torch.Tensor    # [V, T, T] U U^T


class ChunkPlan(NamedTuple):
    texts: int
    videos: int


def plan_chunks(n_texts: int, rows_per_text: int, n_videos: int, frames: int, row_width: int,
                budget_bytes: float, itemsize: int) -> ChunkPlan:
    """Texts and videos per chunk so that a chunk's temporaries, rows x (TEMPORARIES * videos *
    frames + row_width) elements, fit `budget_bytes`: square-ish in rows x (videos * frames), then
    the other side grows where one side has run out. A chunk has at least one text and one video."""
    budget = max(1, int(budget_bytes // itemsize))

    def clamp(value: int, high: int) -> int:
        return max(1, min(high, value))

    videos = clamp(math.isqrt(budget // TEMPORARIES) // frames, n_videos)
    texts = clamp(budget // (rows_per_text * (TEMPORARIES * videos * frames + row_width)), n_texts)
    videos = clamp((budget // (texts * rows_per_text) - row_width) // (TEMPORARIES * frames), n_videos)
    return ChunkPlan(texts, videos)


def chunk_budget_bytes(memory_mb: float, device: torch.device) -> float:
    budget = memory_mb * 2 ** 20
    return min(budget, CPU_CHUNK_BYTES) if device.type == "cpu" else budget


def pooled_scores(rows: torch.Tensor, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                  gram: torch.Tensor, shift: bool = False) -> torch.Tensor:
    """rows [R, D], queries [R, d], keys [V * T, d], values [V * T, D], gram [V, T, T]
    -> [V, R] x . v_x / |v_x| for every (video, row) pair. Differentiable: the in-place ops only
    rewrite fresh matmul outputs, and the max shift is detached since the cosine ignores it.
    shift=False checks e^T G e on the host and recomputes with the shift if it overflowed."""
    videos, frames = gram.shape[:2]
    logits = (keys @ queries.T).view(videos, frames, -1)  # [V, T, R]
    if shift:
        logits.sub_(logits.detach().amax(1, keepdim=True))
    weights = logits.exp_()  # [V, T, R]
    dots = (values @ rows.T).view(videos, frames, -1).mul_(weights).sum(1)  # [V, R]  e . (x U^T)
    squared = torch.bmm(gram, weights).mul_(weights).sum(1)  # [V, R]  e^T G e
    if not shift and not math.isfinite(squared.detach().amax()):  # amax propagates NaN
        return pooled_scores(rows, queries, keys, values, gram, shift=True)
    return dots * squared.clamp_min(EPS).rsqrt()


def pooled_similarity(text: PooledText, video: PooledVideos, memory_mb: float) -> torch.Tensor:
    """[Nt, Nv] sum over the rows l of text i of weights[i, l] * x_il . v_ilj / |v_ilj|,
    computed in chunks of texts x videos; padded rows are dropped before the pairwise work."""
    n_texts, rows_per_text, width = text.rows.shape
    n_videos, frames = video.gram.shape[:2]
    plan = plan_chunks(n_texts, rows_per_text, n_videos, frames, width + text.queries.shape[-1],
                       chunk_budget_bytes(memory_mb, text.rows.device), text.rows.element_size())
    out = text.rows.new_zeros(n_texts, n_videos)
    shift = torch.is_grad_enabled()  # training: no host check of the overflow
    for t0 in range(0, n_texts, plan.texts):
        chunk = slice(t0, t0 + plan.texts)
        if rows_per_text == 1:  # sentences: one row per text, the pooling is a scaling by its weight
            rows, queries, pool = text.rows[chunk, 0], text.queries[chunk, 0], text.weights[chunk]  # [nt, 1]
        else:  # words: real rows packed, pool [nt, R] holds the weight of each row in its text
            mask = text.row_mask[chunk]  # [nt, L]
            rows, queries = text.rows[chunk][mask], text.queries[chunk][mask]  # [R, D], [R, d]
            rank = torch.arange(rows.shape[0], device=rows.device)
            pool = rows.new_zeros(mask.shape[0], rows.shape[0]).index_put((mask.nonzero()[:, 0], rank),
                                                                           text.weights[chunk][mask])
        for v0 in range(0, n_videos, plan.videos):
            part = slice(v0, v0 + plan.videos)
            scores = pooled_scores(rows, queries, video.keys[part].flatten(0, 1), video.values[part].flatten(0, 1),
                                   video.gram[part], shift=shift)  # [V, R]
            out[chunk, part] = pool * scores.T if rows_per_text == 1 else pool @ scores.T  # [nt, V]
    return out


class FrameAttentionPooling(nn.Module):
    """One level (sentence or words) with its own LayerNorms and projections.

    `residual=True` (DLLFA): v = mean + W(a . f). `residual=False` (X-Pool style): v = W(a . LN_k(f)),
    the frames LayerNormed before the keys and the values as in X-Pool (which uses one LayerNorm
    for text and frames; here each side has its own gain). X-Pool's separate value and output
    projections collapse into W, since nothing non-linear sits between them. W starts at the
    identity and q, k at one shared projection with orthonormal rows (X-Pool starts all its
    projections at the identity; here the key width d is smaller than D). The LayerNorms have no
    bias and neither has the key projection: a shift of all keys is removed by the centring, and
    a query bias is already in q."""

    def __init__(self, embed_dim: int, attention_dim: int, residual: bool):
        super().__init__()
        self.attention_dim = attention_dim
        self.residual = residual
        self.query_norm = nn.LayerNorm(embed_dim, bias=False)
        self.key_norm = nn.LayerNorm(embed_dim, bias=False)
        self.query = nn.Linear(embed_dim, attention_dim)
        self.key = nn.Linear(embed_dim, attention_dim, bias=False)
        self.value = nn.Linear(embed_dim, embed_dim)
        with torch.no_grad():
            nn.init.orthogonal_(self.query.weight)  # [d, D], orthonormal rows (columns if d > D)
            self.key.weight.copy_(self.query.weight)
            self.query.bias.zero_()
            self.value.weight.copy_(torch.eye(embed_dim))
            self.value.bias.zero_()

    def text_side(self, rows: torch.Tensor, row_mask: torch.Tensor, weights: torch.Tensor) -> PooledText:
        """rows [N, L, D] raw (zero where padded), row_mask [N, L] bool, weights [N, L]."""
        inv_norm = squared_norm(rows).rsqrt()  # [N, L]
        queries = self.query(self.query_norm(rows * inv_norm[..., None])) * self.attention_dim ** -0.5  # [N, L, d]
        return PooledText(rows, row_mask, queries, torch.where(row_mask, weights * inv_norm, 0))

    @staticmethod
    def attention(text: PooledText, video: PooledVideos, video_mask: torch.Tensor) -> torch.Tensor:
        """The attention of every text row over the frames of every video, for inspection and
        figures (it materialises [N, L, V, T]; scoring never does): softmax over real frames."""
        logits = torch.einsum("nld,vtd->nlvt", text.queries, video.keys)  # [N, L, V, T]
        return logits.masked_fill(~video_mask.bool(), float("-inf")).softmax(-1)

    def video_side(self, frames: torch.Tensor, mean: torch.Tensor, mask: torch.Tensor) -> PooledVideos:
        """frames [V, T, D] unit-norm (zero where padded), mean [V, D], mask [V, T] bool."""
        normed = self.key_norm(frames)  # [V, T, D], zero where padded
        keys = self.key(normed)  # [V, T, d]
        keys = (keys - masked_mean(keys, mask)[:, None]) * mask[..., None]
        if self.residual:
            values = self.value(frames) + mean[:, None]  # [V, T, D]
        else:
            values = self.value(normed)
        values = values * mask[..., None]
        return PooledVideos(keys, values, values @ values.transpose(1, 2))
