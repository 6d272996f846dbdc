"""Retrieval metrics from a text x video similarity matrix.

Conventions (docs/evaluation.md):
- rows are texts (captions), columns are videos; `caption_video_index[i]` is the video of
  caption i (the diagonal when omitted: one caption per video, e.g. MSR-VTT 1k-A);
- rank of the ground truth = 1 + number of candidates scored *strictly* higher, so ties are
  resolved in favour of the ground truth (`TIE_RULES` "ground_truth", right for real data, where ties
  are rare and the reference code bases count them so); the number of queries that had a tie is
  reported. "shared" (the synthetic dataset, whose twins hold the same frames, so that a head blind
  to their order ties them exactly) counts what a random order of the tied candidates gives on
  average: R@K = P(rank <= K) with the ground truth anywhere in its tied block, MdR and MnR of the
  expected rank (an exact tie with one twin at the top is half a hit, not a whole one);
- text-to-video ranks every caption against all videos; video-to-text ranks every video
  against all captions and its ground truth is the best-ranked of its own captions;
- R@K in percent, MdR and MnR 1-based.

Also the twin contrasts of the synthetic dataset, the dual-softmax re-ranking and the report
that an evaluation writes (metrics.json).
"""
from typing import Dict, Optional

import numpy as np

from modules.contrastive_loss import MAX_SCALE
from modules.errors import InputError

DUAL_SOFTMAX_TEMPERATURE = 1 / MAX_SCALE  # the logits CLIP trains with at its clamped scale


TIE_RULES = ("ground_truth", "shared")


def summarize_ranks(ranks: np.ndarray, tied: np.ndarray, tie_rule: str = "ground_truth") -> Dict[str, float]:
    """ranks [Nq] 1-based (1 + candidates strictly higher), tied [Nq] other candidates scored exactly
    as the ground truth -> R1/R5/R10 (percent), MdR, MnR, ties (queries with a tie) under `tie_rule`."""
    if tie_rule not in TIE_RULES:
        raise InputError(f"unknown tie rule {tie_rule!r}; use one of {', '.join(TIE_RULES)}")
    block = tied + 1 if tie_rule == "shared" else np.ones_like(tied)  # positions the ground truth may take

    def recall(k: int) -> float:  # the share of the block within the top k, averaged
        return float(np.mean(np.clip((k + 1 - ranks) / block, 0, 1)) * 100)

    expected = ranks + (block - 1) / 2
    return {"R1": recall(1), "R5": recall(5), "R10": recall(10), "MdR": float(np.median(expected)),
            "MnR": float(np.mean(expected)), "ties": int(np.sum(tied > 0))}


def _validated_index(sim: np.ndarray, caption_video_index: Optional[np.ndarray]) -> np.ndarray:
    n_texts, n_videos = sim.shape
    if caption_video_index is None:
        if n_texts != n_videos:
            raise InputError(f"similarity matrix is {n_texts} x {n_videos}: a non-square matrix needs "
                             f"caption_video_index (the video of each caption)")
        return np.arange(n_texts)
    index = np.asarray(caption_video_index, dtype=np.int64)
    if index.shape != (n_texts,):
        raise InputError(f"caption_video_index has {index.shape[0]} entries for {n_texts} captions")
    if index.min() < 0 or index.max() >= n_videos:
        raise InputError(f"caption_video_index points outside the {n_videos} videos")
    if np.bincount(index, minlength=n_videos).min() == 0:
        raise InputError("some videos have no caption; video-to-text ranks are undefined for them")
    return index


def text_to_video_ranks(sim: np.ndarray, caption_video_index: np.ndarray):
    """Rank of each caption's video among all videos -> (ranks [Nt], tied [Nt]: other videos scored the same)."""
    target = sim[np.arange(sim.shape[0]), caption_video_index][:, None]  # [Nt, 1]
    ranks = 1 + np.sum(sim > target, axis=1)
    tied = np.sum(sim == target, axis=1) - 1  # the ground truth itself is one of them
    return ranks, tied


def video_to_text_ranks(sim: np.ndarray, caption_video_index: np.ndarray):
    """Rank of each video's best own caption among all captions -> (ranks [Nv], tied [Nv]: other captions scored the same)."""
    n_texts, n_videos = sim.shape
    own = np.zeros((n_texts, n_videos), dtype=bool)
    own[np.arange(n_texts), caption_video_index] = True
    best_own = np.where(own, sim, -np.inf).max(axis=0)[None, :]  # [1, Nv]
    others = np.where(own, -np.inf, sim)  # [Nt, Nv], own captions never count against the video
    ranks = 1 + np.sum(others > best_own, axis=0)
    tied = np.sum(others == best_own, axis=0)
    return ranks, tied


def retrieval_metrics(sim: np.ndarray, caption_video_index: Optional[np.ndarray] = None,
                      tie_rule: str = "ground_truth") -> Dict[str, Dict[str, float]]:
    """Both directions: {"t2v": {...}, "v2t": {...}} (see `summarize_ranks`)."""
    sim = np.asarray(sim)
    if sim.ndim != 2 or sim.size == 0:
        raise InputError(f"similarity matrix must be 2-D and non-empty, got shape {sim.shape}")
    if not np.isfinite(sim).all():
        raise InputError(f"similarity matrix has {int((~np.isfinite(sim)).sum())} non-finite entries")
    index = _validated_index(sim, caption_video_index)
    return {"t2v": summarize_ranks(*text_to_video_ranks(sim, index), tie_rule),
            "v2t": summarize_ranks(*video_to_text_ranks(sim, index), tie_rule)}


def order_contrast_accuracy(sim: np.ndarray, caption_video_index: np.ndarray, reversed_twin: np.ndarray) -> float:
    """Mean over captions whose video has a time-reversed twin (`reversed_twin[v] >= 0`):
    1 if the caption scores its own video above the twin, 0.5 on an exact tie, else 0.
    Any other twin works the same way (swap contrast: `reversed_twin` = the event-swapped twins)."""
    videos = np.asarray(caption_video_index)
    twins = np.asarray(reversed_twin)[videos]
    has_twin = twins >= 0
    if not has_twin.any():
        raise InputError("no caption's video has a reversed twin: order contrast is undefined")
    rows = np.nonzero(has_twin)[0]
    own, twin = sim[rows, videos[rows]], sim[rows, twins[rows]]
    return float(np.mean(np.where(own > twin, 1.0, np.where(own == twin, 0.5, 0.0))))


def metrics_by_caption_kind(sim: np.ndarray, caption_video_index: np.ndarray, caption_kinds: np.ndarray,
                            tie_rule: str = "ground_truth") -> Dict[str, Dict[str, float]]:
    """Text-to-video metrics (`summarize_ranks`) of each kind's captions, every caption still
    ranked against all videos, plus `n_captions`: {kind: {...}} in sorted kind order."""
    kinds = np.asarray(caption_kinds)
    index = _validated_index(np.asarray(sim), caption_video_index)
    if kinds.shape != index.shape:
        raise InputError(f"{kinds.shape[0]} caption kinds for {index.shape[0]} captions")
    result = {}
    for kind in sorted(set(kinds.tolist())):
        rows = kinds == kind
        result[kind] = {**summarize_ranks(*text_to_video_ranks(sim[rows], index[rows]), tie_rule),
                        "n_captions": int(rows.sum())}
    return result


def format_metrics(metrics: Dict[str, Dict[str, float]]) -> str:
    """One line per direction, e.g. `t2v  R@1 48.0  R@5 73.0  R@10 82.9  MdR 2.0  MnR 13.1  ties 0`."""
    return "\n".join(
        f"{direction}  R@1 {m['R1']:.1f}  R@5 {m['R5']:.1f}  R@10 {m['R10']:.1f}  "
        f"MdR {m['MdR']:.1f}  MnR {m['MnR']:.1f}  ties {m['ties']}"
        for direction, m in metrics.items())


def dual_softmax(sim: np.ndarray, temperature: float = DUAL_SOFTMAX_TEMPERATURE) -> np.ndarray:
    """Inference-only re-normalisation (the dual softmax of Cheng et al. 2021, "Improving
    Video-Text Retrieval by Multi-Stream Corpus Alignment and Dual Softmax Loss"):
    sim [Nt, Nv] -> sim * softmax(sim / temperature) over the texts (dim 0), i.e. each score
    weighted by how strongly its video prefers this text over the other test queries. It ranks
    videos for a text (text -> video); for video -> text use `dual_softmax(sim.T).T`. The default
    temperature 1/100 scores the prior with the logits CLIP trains with at its clamped scale.
    Report its metrics separately from the plain ones: it uses the whole test set of queries."""
    logits = sim / temperature
    prior = np.exp(logits - logits.max(axis=0, keepdims=True))  # softmax over the texts, stable
    return sim * prior / prior.sum(axis=0, keepdims=True)


# twin relation (the synthetic dataset's, dataloaders/twin_pairs.py) -> the contrast measured against it
CONTRASTS = {"reversed": "order_contrast", "swapped": "swap_contrast", "events_reversed": "direction_contrast"}


def twin_contrasts(sim: np.ndarray, caption_video_index: np.ndarray, twins: Dict[str, np.ndarray]) -> Dict[str, float]:
    """For each twin relation where some caption's video has a twin, the share of those captions
    that score their video above the twin (`CONTRASTS` names it: order contrast against the
    time-reversed twin, swap contrast against the event-swapped one, direction contrast against
    the events-reversed one)."""
    return {CONTRASTS[relation]: order_contrast_accuracy(sim, caption_video_index, partners)
            for relation, partners in twins.items() if (partners[caption_video_index] >= 0).any()}


def evaluation_report(sim: np.ndarray, split, twins: Dict[str, np.ndarray], with_dual_softmax: bool,
                      caption_kinds: Optional[np.ndarray] = None) -> Dict:
    """metrics.json content: plain metrics, then (separately) dual-softmax, the twin contrasts
    (`twins`: {relation of `CONTRASTS`: twin index per video, -1 none}; real datasets: {}) and,
    with caption kinds, text-to-video metrics and contrasts per kind (`by_caption_kind`). A split
    with twins (videos holding the same frames) counts ties shared, any other the reference code
    bases' way (`tie_rule`, recorded in the report)."""
    index = np.asarray(split.caption_video_index)
    tie_rule = "shared" if twins else "ground_truth"
    report = {"dataset": split.dataset, "split": split.name, "n_captions": int(sim.shape[0]),
              "n_videos": int(sim.shape[1]), "tie_rule": tie_rule, **retrieval_metrics(sim, index, tie_rule)}
    report.update(twin_contrasts(sim, index, twins))
    if caption_kinds is not None:
        report["by_caption_kind"] = {
            kind: {**metrics, **twin_contrasts(sim[caption_kinds == kind], index[caption_kinds == kind], twins)}
            for kind, metrics in metrics_by_caption_kind(sim, index, caption_kinds, tie_rule).items()}
    if with_dual_softmax:  # the prior runs over the queries of each direction
        report["dual_softmax"] = {"t2v": retrieval_metrics(dual_softmax(sim), index, tie_rule)["t2v"],
                                  "v2t": retrieval_metrics(dual_softmax(sim.T).T, index, tie_rule)["v2t"]}
    return report


def mean_and_std(values) -> tuple:
    """(mean, sample standard deviation) of the values of several training seeds: n - 1 in the
    denominator, the conservative choice for three seeds; 0 for a single value."""
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5


def format_mean_std(mean: float, std: float, digits: int) -> str:
    """"mean ± std" at `digits` decimals: how every result over seeds is printed."""
    return f"{mean:.{digits}f} ± {std:.{digits}f}"
