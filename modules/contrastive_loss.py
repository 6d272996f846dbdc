"""Training loss and the optional inference re-normalisation of a text x video score matrix."""
import torch
from torch.nn import functional as F

MAX_SCALE = 100.0  # CLIP clamps exp(logit_scale) at 100
DUAL_SOFTMAX_TEMPERATURE = 0.01  # = 1 / CLIP's maximum logit scale


def symmetric_infonce(sim: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """sim [B, B] cosine scores (text i matches video i), logit_scale: exp(CLIP's logit_scale), a
    scalar tensor -> scalar loss: mean of the text->video and video->text cross-entropies of
    logit_scale * sim. The scale is clamped at 100 here as well (a no-op when the caller already
    clamps), so the loss never sees a sharper temperature than CLIP allows."""
    logits = logit_scale.clamp(max=MAX_SCALE) * sim  # [B, B]
    target = torch.arange(sim.shape[0], device=sim.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def dual_softmax(sim: torch.Tensor, temperature: float = DUAL_SOFTMAX_TEMPERATURE) -> torch.Tensor:
    """Inference-only re-normalisation (the dual softmax of Cheng et al. 2021, "Improving
    Video-Text Retrieval by Multi-Stream Corpus Alignment and Dual Softmax Loss"):
    sim [Nt, Nv] -> sim * softmax(sim / temperature) over the texts (dim 0), i.e. each score
    weighted by how strongly its video prefers this text over the other test queries. It ranks
    videos for a text (text -> video); for video -> text use `dual_softmax(sim.T).T`. The default
    temperature 1/100 scores the prior with the logits CLIP trains with at its clamped scale.
    Report its metrics separately from the plain ones: it uses the whole test set of queries."""
    return sim * torch.softmax(sim / temperature, dim=0)
