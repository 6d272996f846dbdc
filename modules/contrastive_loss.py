"""The training loss: symmetric InfoNCE over a text x video score matrix, one or several positives per row."""
from typing import Optional

import torch
from torch.nn import functional as F

MAX_SCALE = 100.0  # CLIP clamps exp(logit_scale) at 100


def symmetric_infonce(sim: torch.Tensor, logit_scale: torch.Tensor, positives: Optional[torch.Tensor] = None
                      ) -> torch.Tensor:
    """sim [B, B] cosine scores (text i against video j), logit_scale: exp(CLIP's logit_scale), a
    scalar tensor, positives [B, B] bool (text i describes video j; None: only j = i) -> scalar
    loss: the mean of the text->video and video->text losses of logits = logit_scale * sim. The
    scale is clamped at 100 here as well (a no-op when the caller already clamps), so the loss
    never sees a sharper temperature than CLIP allows.

    Each row's loss is the mean over its positives p of -log softmax(logits row)[p] (SupCon's
    L_out, Khosla et al. 2020), for text rows and for video columns alike; with one positive per
    row (the identity, which `positives` must contain) it is CLIP's cross-entropy. Why the mean
    of the terms and not -log of the summed probability of the positives (MIL-NCE's
    log-sum-exp): a caption that fits two videos (a partial caption and a video's twin that also
    shows the event; a caption annotated twice) is right about both, so each must score above
    every non-matching video; the log-sum-exp is satisfied once one positive dominates and lets
    the other fall below negatives, which suits noisy candidates (MIL-NCE's narrations) but not
    annotated matches. The mean's optimum puts equal weight on the positives."""
    logits = logit_scale.clamp(max=MAX_SCALE) * sim  # [B, B]
    if positives is None:
        target = torch.arange(sim.shape[0], device=sim.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    return (_mean_over_positives(logits, positives) + _mean_over_positives(logits.T, positives.T)) / 2


def _mean_over_positives(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """logits [B, B], positives [B, B] bool -> mean over rows of mean_{p positive} -log softmax(row)[p]."""
    log_p = torch.where(positives, logits.log_softmax(1), 0.0)  # [B, B]
    return (-log_p.sum(1) / positives.sum(1)).mean()


def positive_mask(caption_matches: torch.Tensor, video_index: torch.Tensor) -> torch.Tensor:
    """caption_matches [B, K] the video indices each caption describes (padded with -1),
    video_index [B] the video of each item -> [B, B] bool: caption i describes the video of item j.
    Every caption's list holds its own video, so the diagonal is True."""
    return (caption_matches[:, :, None] == video_index[None, None, :]).any(1)

