"""Optimizer recipes: parameter groups, layer freezing and the learning-rate schedules.

Every recipe trains new parameters (the head) at `lr` and CLIP at `lr * coef_lr`, with a
warmup then cosine schedule applied as a per-step LambdaLR multiplier (so checkpoints and
`--resume` treat all recipes alike). `--optimizer` picks one (docs/recipe.md):

- `adamw` (docs/training.md; the CLI default): torch AdamW on fp32 weights, betas (0.9,
  0.98), eps 1e-6; no weight decay on biases, norms, embeddings, frame positions and
  `logit_scale`; linear warmup from lr/warmup_steps, then cosine to zero.
- `clip4clip` (ArrowLuo/CLIP4Clip): BertAdam (modules/bert_adam.py) on CLIP's fp16 weights
  (modules/clip_fp16.py); decay on every parameter whose name has no "bias" (CLIP4Clip's
  no_decay list names `LayerNorm.*`, which CLIP's `ln_*` never match, main_task_retrieval.py:189-206);
  its warmup_cosine schedule (modules/optimization.py:26-29 there): rate 0 at step 0, linear
  to 1 at warmup_proportion of the steps, then 0.5 (1 + cos(pi x)) of the overall progress x
  (a drop from 1 to 0.976 at the end of the warmup, as there).
- `xpool` (layer6ai-labs/xpool train.py:50-63): AdamW with X-Pool's betas (0.9, 0.999) and eps
  1e-6 (modules/optimization.py:110-118 there), the same weight decay on every parameter; warmup
  from 0 over int(0.1 x steps) steps, then cosine to zero (get_cosine_schedule_with_warmup).
  torch's AdamW decays before the step where X-Pool's decays after it: a difference of order lr^2.
"""
import math
from typing import Callable, Dict, List, NamedTuple

import torch
from torch import nn

from modules.bert_adam import BertAdam

# CLIP parameters that always train under --freeze_layer_num: the top of both towers.
_TOP_OF_CLIP = ("ln_post", "proj", "ln_final", "text_projection", "logit_scale")


def _no_weight_decay(name: str, parameter: nn.Parameter) -> bool:
    return parameter.ndim < 2 or "embedding" in name or name.endswith(("logit_scale", "positions"))


def _clip4clip_no_weight_decay(name: str, parameter: nn.Parameter) -> bool:
    return "bias" in name


def _decay_everything(name: str, parameter: nn.Parameter) -> bool:
    return False


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
                       clip_prefix: str = "backbone.",
                       no_weight_decay: Callable[[str, nn.Parameter], bool] = _no_weight_decay) -> List[dict]:
    """Up to four groups: {CLIP, new} x {decay, no decay}; frozen parameters are left out."""
    groups = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        is_clip = name.startswith(clip_prefix)
        decay = not no_weight_decay(name, parameter)
        key = ("clip" if is_clip else "new", decay)
        group = groups.setdefault(key, {"params": [], "names": [], "lr": lr * coef_lr if is_clip else lr,
                                        "weight_decay": weight_decay if decay else 0.0})
        group["params"].append(parameter)
        group["names"].append(name)
    return [groups[key] for key in sorted(groups)]


class WarmupCosine:
    """lr multiplier: linear warmup over round(p x total) steps from 1/warmup_steps (or, with
    `from_zero`, X-Pool's: over int(p x total) steps from 0), then cosine down to 0."""

    def __init__(self, total_steps: int, warmup_proportion: float, from_zero: bool = False):
        self.total_steps = max(1, total_steps)
        warmup = warmup_proportion * self.total_steps
        self.warmup_steps = int(warmup) if from_zero else int(round(warmup))
        self.from_zero = from_zero

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step if self.from_zero else step + 1) / self.warmup_steps
        progress = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


class ClipWarmupCosine:
    """CLIP4Clip's warmup_cosine as a multiplier of step k: x = k / total; x / warmup during the
    warmup, then 0.5 (1 + cos(pi x)). BertAdam computed it from the step count before each update;
    LambdaLR gives the same rate at the same step."""

    def __init__(self, total_steps: int, warmup_proportion: float):
        self.total_steps = max(1, total_steps)
        self.warmup_proportion = warmup_proportion

    def __call__(self, step: int) -> float:
        progress = step / self.total_steps
        if progress < self.warmup_proportion:
            return progress / self.warmup_proportion
        return 0.5 * (1.0 + math.cos(math.pi * progress))


class Recipe(NamedTuple):
    no_weight_decay: Callable[[str, nn.Parameter], bool]
    make_optimizer: Callable[[List[dict], float], torch.optim.Optimizer]  # (groups, max_grad_norm)
    schedule: Callable[[int, float], Callable[[int], float]]  # (total_steps, warmup_proportion)


def _adamw(betas):
    # the fused kernel made a tiny model's CPU step 1.6x faster than the per-tensor loop
    return lambda groups, max_grad_norm: torch.optim.AdamW(groups, betas=betas, eps=1e-6, fused=True)


RECIPES: Dict[str, Recipe] = {
    "adamw": Recipe(_no_weight_decay, _adamw((0.9, 0.98)), WarmupCosine),
    "clip4clip": Recipe(_clip4clip_no_weight_decay,
                        lambda groups, max_grad_norm: BertAdam(groups, max_grad_norm=max_grad_norm), ClipWarmupCosine),
    "xpool": Recipe(_decay_everything, _adamw((0.9, 0.999)),
                    lambda total, warmup: WarmupCosine(total, warmup, from_zero=True)),
}
OPTIMIZERS = tuple(RECIPES)


def build_optimizer(model: nn.Module, lr: float, coef_lr: float, weight_decay: float,
                    total_steps: int, warmup_proportion: float, recipe: str = "adamw",
                    max_grad_norm: float = 1.0):
    """The recipe's (`--optimizer`) optimizer + LambdaLR(its schedule) + its parameter groups.
    `max_grad_norm` is also BertAdam's per-parameter clip (CLIP4Clip clips at 1.0 both globally
    and per parameter); <= 0 turns it off."""
    chosen = RECIPES[recipe]
    groups = build_param_groups(model, lr, coef_lr, weight_decay, no_weight_decay=chosen.no_weight_decay)
    optimizer = chosen.make_optimizer([{k: v for k, v in g.items() if k != "names"} for g in groups], max_grad_norm)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, chosen.schedule(total_steps, warmup_proportion))
    return optimizer, scheduler, groups
