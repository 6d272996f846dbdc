"""What a trained head does on a pool: R@1, order contrast, and where its attention goes.

Attention is read off the head's own cached sides (the queries q(LN(x))/sqrt(d) and the centred
keys of `modules/frame_attention_pooling.py`) for each caption and its own video:

- mass: the attention weight that the sentence puts on the frames of the segments its caption
  describes (frame level), and that each content word puts on its own segment (token level);
  uniform attention gives the segment's share of the frames (`uniform`);
- spread: the standard deviation of the attention logits over the video's frames (0 = uniform).

`uniform_attention(head)` is the same head with its query maps set to zero, so that every text row
attends uniformly: its R@1 against the trained head's is what attention adds.
"""
import copy
from typing import Dict, Optional

import numpy as np
import torch

from bench.feature_level.generator import KINDS, FeatureBatch
from bench.feature_level.training import score
from modules.frame_attention_pooling import FrameAttentionPooling
from modules.metrics import order_contrast_accuracy, retrieval_metrics
from modules.attention_head import AttentionPoolingHead
from modules.head_base import RetrievalHead


def uniform_attention(head: RetrievalHead) -> RetrievalHead:
    """A copy of `head` whose every attention level attends uniformly (q = 0, all logits equal)."""
    uniform = copy.deepcopy(head)
    with torch.no_grad():
        for module in uniform.modules():
            if isinstance(module, FrameAttentionPooling):
                module.query.weight.zero_()
                module.query.bias.zero_()
    return uniform


def _matched_logits(text, video) -> torch.Tensor:
    """PooledText [N, L] and PooledVideos [N, T] of caption i and its video i -> logits [N, L, T]."""
    return torch.einsum("nld,ntd->nlt", text.queries, video.keys)


def _mass_and_spread(logits: torch.Tensor, rows: torch.Tensor, target: torch.Tensor) -> Dict[str, float]:
    """logits [N, L, T], rows [N, L] bool (which rows count), target [N, L, T] bool (their own frames)."""
    attention = logits.softmax(-1)
    return {"mass": float((attention * target).sum(-1)[rows].mean()),
            "uniform": float(target.float().mean(-1)[rows].mean()),
            "spread": float(logits.std(-1)[rows].mean())}


def attention_stats(head: RetrievalHead, pool: FeatureBatch) -> Dict[str, Dict[str, float]]:
    """{"sentence": {...}, "words": {...}} for the levels `head` has (empty for meanP and seqTransf)."""
    if not isinstance(head, AttentionPoolingHead):
        return {}
    text = head.text_side(pool.sentence, pool.words, pool.word_mask)
    video = head.video_side(pool.frames, pool.video_mask)
    stats = {}
    if text.frame is not None:
        everyone = torch.ones(len(pool.sentence), 1, dtype=torch.bool)
        stats["sentence"] = _mass_and_spread(_matched_logits(text.frame, video.frame), everyone, pool.described[:, None])
    if text.token is not None:
        content = pool.word_segment.any(-1)  # [N, L] content words
        stats["words"] = _mass_and_spread(_matched_logits(text.token, video.token), content, pool.word_segment)
    return stats


def retrieval(head: RetrievalHead, pool: FeatureBatch) -> Dict[str, float]:
    """Text-to-video R@1, R@5 and MdR over the pool with ties shared (modules/metrics.py): a caption
    whose video ties with k others at the top counts 1 / (k + 1), so that a head which scores a video
    and its reversed twin alike gets half credit. Also the number of tied captions, and the order
    contrast where the pool has reversed twins."""
    sim = score(head, pool).numpy()
    t2v = retrieval_metrics(sim, tie_rule="shared")["t2v"]
    result = {key: t2v[key] for key in ("R1", "R5", "MdR", "ties")}
    if (pool.twin >= 0).any():
        result["order_contrast"] = order_contrast_accuracy(sim, np.arange(len(sim)), pool.twin.numpy())
    return result


@torch.no_grad()
def evaluate(head: RetrievalHead, pools: Dict[str, FeatureBatch], with_uniform: bool = True) -> Dict[str, dict]:
    """Per caption kind: retrieval, attention stats, and the same head with uniform attention."""
    head.eval()
    uniform: Optional[RetrievalHead] = uniform_attention(head) if with_uniform and \
        isinstance(head, AttentionPoolingHead) else None
    results = {}
    for kind in KINDS:
        entry = {"retrieval": retrieval(head, pools[kind]), "attention": attention_stats(head, pools[kind])}
        if uniform is not None:
            entry["uniform_attention"] = retrieval(uniform, pools[kind])
        results[kind] = entry
    return results
