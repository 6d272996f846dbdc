"""Small tensor helpers that the heads, the attention kernel and the temporal encoder share:
squared norms clamped at EPS (so a zero row never divides by zero), unit-norm rows, and the mean
over the real rows of a padded batch."""
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
