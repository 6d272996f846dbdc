"""Train a head on the generated stream with this repository's loss, optimizer and recipe.

The loop is the head's share of driver/trainer.py's: symmetric InfoNCE (modules/contrastive_loss.py),
summed over the head's training scores (`training_loss`, as RetrievalModel.forward),
at CLIP's logit scale, AdamW from modules/optimization.py (weight decay 0.2, 10% warmup then
cosine, the head at `lr`), gradient clipping at 1.0, fp32. The backbone is bypassed, so its
parameters (and `--coef_lr`) play no part; the logit scale is fixed at 100, where a pretrained
CLIP's sits (its lr would be lr * coef_lr = 1e-7: it does not move in the recipe either).
Every head sees the same stream of batches (the same seed).
"""
import time
from typing import Callable, Dict, List, NamedTuple, Optional

import torch

from bench.feature_level.generator import SampleMaker, World
from modules.contrastive_loss import MAX_SCALE
from modules.optimization import build_optimizer
from modules.head_base import RetrievalHead

WEIGHT_DECAY, WARMUP, MAX_GRAD_NORM = 0.2, 0.1, 1.0


def batch_kinds(batch_size: int) -> List[str]:
    """The caption kinds of one batch of `batch_size` rows: a sixth of them order videos, each
    followed by its reversed twin (in its batch, as with --twin_batches: its hardest negative),
    the rest one-segment and multi-segment captions in equal parts (64: 22 + 22 + 10 pairs)."""
    order = batch_size // 6
    rest = batch_size - 2 * order
    return ["one_segment"] * (rest - rest // 2) + ["multi_segment"] * (rest // 2) + ["order"] * order


def score(head: RetrievalHead, batch) -> torch.Tensor:
    """[N, N] cosine scores of a FeatureBatch (caption i against video j)."""
    return head.similarity(head.text_side(batch.sentence, batch.words, batch.word_mask),
                           head.video_side(batch.frames, batch.video_mask))


class TrainingLog(NamedTuple):
    losses: List[float]  # per step
    seconds: float       # in this head's steps (the batches are generated once for all heads)


def train_heads(heads: Dict[str, RetrievalHead], world: World, seed: int, steps: int, lr: float,
                batch_size: int = 64, on_step: Optional[Callable[[int, Dict[str, float]], None]] = None
                ) -> Dict[str, TrainingLog]:
    """Train every head in place on the same `steps` batches of the stream `seed`, in lockstep (each
    batch is generated once), each with its own optimizer. A head without parameters (meanP) is
    left as it is (no losses)."""
    trainable = {name: head for name, head in heads.items() if any(p.requires_grad for p in head.parameters())}
    optimizers = {name: build_optimizer(head, lr, 1.0, WEIGHT_DECAY, total_steps=steps, warmup_proportion=WARMUP)[:2]
                  for name, head in trainable.items()}
    maker, kinds, scale = SampleMaker(world, seed), batch_kinds(batch_size), torch.tensor(MAX_SCALE)
    losses: Dict[str, List[float]] = {name: [] for name in heads}
    seconds = dict.fromkeys(heads, 0.0)
    for head in trainable.values():
        head.train()
    for step in range(steps if trainable else 0):
        batch = maker.batch(kinds)
        for name, head in trainable.items():
            started = time.perf_counter()
            optimizer, scheduler = optimizers[name]
            loss = head.training_loss(head.text_side(batch.sentence, batch.words, batch.word_mask),
                                      head.video_side(batch.frames, batch.video_mask), scale)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), MAX_GRAD_NORM)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            losses[name].append(loss.item())
            seconds[name] += time.perf_counter() - started
        if on_step is not None:
            on_step(step + 1, {name: losses[name][-1] for name in trainable})
    for head in heads.values():
        head.eval()
    return {name: TrainingLog(losses[name], seconds[name]) for name in heads}


def summary_of_losses(losses: List[float], window: int = 50) -> Dict[str, float]:
    if not losses:
        return {}
    return {"first": sum(losses[:window]) / len(losses[:window]), "last": sum(losses[-window:]) / len(losses[-window:])}
