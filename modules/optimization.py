"""AdamW parameter groups, layer freezing and the warmup + cosine learning-rate schedule.

Recipe (DESIGN.md section 5): new parameters (the head) train at `lr`, CLIP at
`lr * coef_lr`; weight decay on matrices only (no decay on biases, norms, embeddings, frame
positions and `logit_scale`); linear warmup over `warmup_proportion` of the steps, then cosine to zero.
"""
import math
from typing import List

import torch
from torch import nn

# CLIP parameters that always train under --freeze_layer_num: the top of both towers.
_TOP_OF_CLIP = ("ln_post", "proj", "ln_final", "text_projection", "logit_scale")


def _no_weight_decay(name: str, parameter: nn.Parameter) -> bool:
    return parameter.ndim < 2 or "embedding" in name or name.endswith(("logit_scale", "positions"))


def freeze_clip_layers(clip: nn.Module, freeze_layer_num: int) -> int:
    """Freeze the bottom of both CLIP towers; return how many tensors were frozen.

    `freeze_layer_num` = -1 freezes nothing. N >= 0 freezes the input embeddings (patch
    projection, class/positional/token embeddings, ln_pre) and transformer blocks 0..N-1 of
    both towers; the top (ln_post, proj, ln_final, text_projection, logit_scale) always trains.
    Unlike CLIP4Clip, whose default 0 already freezes the embeddings, nothing is frozen by
    default here.
    """
    if freeze_layer_num < 0:
        return 0
    frozen = 0
    for name, parameter in clip.named_parameters():
        if name.split(".")[0] in _TOP_OF_CLIP or name.startswith(tuple(f"visual.{t}" for t in _TOP_OF_CLIP)):
            continue
        if ".resblocks." in name:
            block = int(name.split(".resblocks.")[1].split(".")[0])
            if block >= freeze_layer_num:
                continue
        parameter.requires_grad_(False)
        frozen += 1
    return frozen


def build_param_groups(model: nn.Module, lr: float, coef_lr: float, weight_decay: float,
                       clip_prefix: str = "backbone.") -> List[dict]:
    """Four AdamW groups: {CLIP, new} x {decay, no decay}; frozen parameters are left out."""
    groups = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        is_clip = name.startswith(clip_prefix)
        decay = not _no_weight_decay(name, parameter)
        key = ("clip" if is_clip else "new", decay)
        group = groups.setdefault(key, {"params": [], "names": [], "lr": lr * coef_lr if is_clip else lr,
                                        "weight_decay": weight_decay if decay else 0.0})
        group["params"].append(parameter)
        group["names"].append(name)
    return [groups[key] for key in sorted(groups)]


class WarmupCosine:
    """lr multiplier: linear from 0 to 1 over the warmup steps, then cosine down to 0."""

    def __init__(self, total_steps: int, warmup_proportion: float):
        self.total_steps = max(1, total_steps)
        self.warmup_steps = int(round(warmup_proportion * self.total_steps))

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def build_optimizer(model: nn.Module, lr: float, coef_lr: float, weight_decay: float,
                    total_steps: int, warmup_proportion: float):
    """AdamW (betas and eps of CLIP fine-tuning: 0.9, 0.98, 1e-6; the fused kernel, which on the
    CPU made a tiny model's step 1.6x faster) + LambdaLR(WarmupCosine)."""
    groups = build_param_groups(model, lr, coef_lr, weight_decay)
    optimizer = torch.optim.AdamW([{k: v for k, v in g.items() if k != "names"} for g in groups],
                                  betas=(0.9, 0.98), eps=1e-6, fused=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(total_steps, warmup_proportion))
    return optimizer, scheduler, groups
