"""The training loss: symmetric InfoNCE over a text x video score matrix."""
import torch
from torch.nn import functional as F

MAX_SCALE = 100.0  # CLIP clamps exp(logit_scale) at 100


def symmetric_infonce(sim: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """sim [B, B] cosine scores (text i matches video i), logit_scale: exp(CLIP's logit_scale), a
    scalar tensor -> scalar loss: mean of the text->video and video->text cross-entropies of
    logit_scale * sim. The scale is clamped at 100 here as well (a no-op when the caller already
    clamps), so the loss never sees a sharper temperature than CLIP allows."""
    logits = logit_scale.clamp(max=MAX_SCALE) * sim  # [B, B]
    target = torch.arange(sim.shape[0], device=sim.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2

