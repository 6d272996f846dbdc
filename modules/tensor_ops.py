"""Small tensor helpers that the heads, the attention kernel and the temporal encoder share:
squared norms clamped at EPS (so a zero row never divides by zero), unit-norm rows, the mean
over the real rows of a padded batch, and its videos played backwards."""
import torch

EPS = 1e-12  # clamp of every squared norm


def squared_norm(x: torch.Tensor) -> torch.Tensor:
    """x [..., D] -> [...] squared L2 norm, at least EPS."""
    return x.pow(2).sum(-1).clamp_min(EPS)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """x [..., D] -> the same rows at unit L2 norm (a zero row stays zero)."""
    return x * squared_norm(x).rsqrt()[..., None]


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x [N, T, C] zero where padded, mask [N, T] bool -> mean over the real rows [N, C] (0 if none)."""
    return x.sum(1) / mask.sum(1, keepdim=True).clamp_min(1)


def reverse_real_frames(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x [N, T, C], mask [N, T] bool -> each video's real rows in reverse time order, written into
    the slots of its real rows (the k-th real slot gets the k-th real row from the end); padded
    slots keep their rows. A video played backwards, wherever its padding sits."""
    slots = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)  # [N, T]
    rank = mask.cumsum(1) - 1  # [N, T] place of a real slot among its video's real slots
    by_rank = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)  # [N, T] column r: the real slot of rank r
    mirrored = (mask.sum(1, keepdim=True) - 1 - rank).clamp_min(0)  # [N, T]
    source = torch.where(mask, by_rank.gather(1, mirrored), slots)  # [N, T]
    return x.gather(1, source[..., None].expand_as(x))
