"""One training epoch: micro-batches, autocast, grad clipping, scheduler, logit-scale clamp,
and a hard stop on a non-finite loss (before the optimizer step, so nothing is corrupted)."""
import contextlib
import json
from dataclasses import dataclass
from typing import Optional

import torch
import torch.distributed as dist

from modules.distributed import DistributedContext, is_distributed
from modules.progress import progress


class TrainingDiverged(RuntimeError):
    """The loss became NaN or inf; the message names the step and the last good checkpoint."""


@dataclass
class TrainState:
    epoch: int = 0  # finished epochs
    step: int = 0   # optimizer steps so far


def _loss_is_finite(loss: torch.Tensor) -> bool:
    finite = torch.isfinite(loss.detach()).float()
    if is_distributed():
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)  # every rank stops together
    return bool(finite.item())


def train_one_epoch(model, ddp_model, loader, optimizer, scheduler, scaler, state: TrainState,
                    ctx: DistributedContext, accumulation_steps: int, max_grad_norm: float,
                    log_every: int, step_log: Optional[str], writer, last_checkpoint: str) -> float:
    """Train over `loader` once; return the mean loss. `model` is the bare RetrievalModel,
    `ddp_model` the same wrapped for DDP (or the model itself in a single process)."""
    ddp_model.train()
    total, count = 0.0, 0
    bar = progress(loader, desc=f"epoch {state.epoch + 1}", unit="step", disable=not ctx.is_main)
    for batch in bar:
        tokens = batch["tokens"].to(ctx.device, non_blocking=True)
        video = batch["video"].to(ctx.device, non_blocking=True)
        video_mask = batch["video_mask"].to(ctx.device, non_blocking=True)
        matches = batch.get("caption_matches")  # [B, K] the videos each caption describes, or absent
        if matches is not None:
            matches, video_index = matches.to(ctx.device), batch["video_index"].to(ctx.device)
        step_loss = torch.zeros((), device=ctx.device)
        for part in range(accumulation_steps):
            chunk = slice(part * len(tokens) // accumulation_steps, (part + 1) * len(tokens) // accumulation_steps)
            last_part = part == accumulation_steps - 1
            sync = contextlib.nullcontext() if last_part or not hasattr(ddp_model, "no_sync") else ddp_model.no_sync()
            with sync:
                positives = () if matches is None else (matches[chunk], video_index[chunk])
                loss = ddp_model(tokens[chunk], video[chunk], video_mask[chunk], *positives) / accumulation_steps
                scaler.scale(loss).backward()
            step_loss += loss.detach()
        if not _loss_is_finite(step_loss):
            raise TrainingDiverged(
                f"loss is {step_loss.item()} at step {state.step + 1} (epoch {state.epoch + 1}); stopped "
                f"before the optimizer step. The last good checkpoint is {last_checkpoint} (if one was written).")
        scaler.unscale_(optimizer)
        if max_grad_norm > 0:  # CLIP4Clip's global clip too (main_task_retrieval.py:278), fp16 grads included
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        model.clamp_logit_scale()
        state.step += 1
        value = step_loss.item()
        total, count = total + value, count + 1
        if ctx.is_main:
            lr = scheduler.get_last_lr()[-1]
            scale = model.backbone.logit_scale.exp().item()
            bar.set_postfix(loss=f"{value:.4f}", lr=f"{lr:.2e}")
            if step_log:
                with open(step_log, "a") as handle:
                    handle.write(json.dumps({"step": state.step, "epoch": state.epoch + 1, "loss": value,
                                             "lr": lr, "logit_scale": scale}) + "\n")
            if writer is not None and (state.step % log_every == 0 or state.step == 1):
                writer.add_scalar("train/loss", value, state.step)
                writer.add_scalar("train/lr", lr, state.step)
                writer.add_scalar("train/logit_scale", scale, state.step)
    return total / max(1, count)
