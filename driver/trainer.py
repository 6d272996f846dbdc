"""Training in the driver: the loader of this rank, one epoch (micro-batches, autocast, grad
clipping, scheduler, logit-scale clamp, and a hard stop on a non-finite loss before the optimizer
step, so nothing is corrupted), the epoch loop with selection on the validation split, resumable
checkpoints, and the final test evaluation of the best model."""
import contextlib
import json
import logging
import os
from dataclasses import dataclass
from typing import Dict, Optional

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from dataloaders.retrieval_datasets import TrainPairDataset, collate_batch
from dataloaders.twin_batch_sampler import TwinBatchSampler
from dataloaders.twin_pairs import TWIN_PAIRS_FILE, read_all_twins, twin_families
from driver.checkpoints import (BEST, LAST, best_checkpoint, best_record, differing_model_flags, load_model_weights,
                                rng_state, save_checkpoint, set_rng_state, training_state)
from driver.evaluate import Evaluator, log_report, selection_score
from driver.process_group import DistributedContext
from driver.run_files import HISTORY, STEP_LOG, TENSORBOARD, write_config
from modules.collectives import is_distributed
from modules.errors import InputError
from modules.optimization import build_optimizer
from modules.progress import progress
from modules.retrieval_model import RetrievalModel

LOG = logging.getLogger("dllfa")


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
        step_loss = torch.zeros((), device=ctx.device)
        for part in range(accumulation_steps):
            chunk = slice(part * len(tokens) // accumulation_steps, (part + 1) * len(tokens) // accumulation_steps)
            last_part = part == accumulation_steps - 1
            sync = contextlib.nullcontext() if last_part or not hasattr(ddp_model, "no_sync") else ddp_model.no_sync()
            with sync:
                loss = ddp_model(tokens[chunk], video[chunk], video_mask[chunk]) / accumulation_steps
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


def build_train_loader(args, split, source, tokenizer, image_size: int, ctx: DistributedContext):
    """This rank's share of every epoch: (dataset, sampler, loader); call `set_epoch` on the
    dataset and the sampler before each epoch."""
    train_set = TrainPairDataset(split, source, tokenizer, max_frames=args.max_frames,
                                 image_size=image_size, slice_framepos=args.slice_framepos,
                                 frame_order=args.train_frame_order, random_offset=args.train_random_offset,
                                 captions_per_video=args.train_captions, seed=args.seed)
    if args.twin_batches:
        twins = read_all_twins(split.dataset, args.data_path, split.video_ids)
        if not twins:
            raise InputError(f"--twin_batches needs {os.path.join(args.data_path, TWIN_PAIRS_FILE)} "
                             "(or another twin pairs file of the synthetic dataset)")
        if args.train_captions != "one":
            raise InputError("--twin_batches needs --train_captions one (one item per video)")
        families = twin_families(*twins.values())
        sampler = TwinBatchSampler(families, args.batch_size, ctx.rank, ctx.world_size, args.seed)
    else:
        sampler = DistributedSampler(train_set, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                     seed=args.seed, drop_last=True)
    loader = DataLoader(train_set, batch_size=args.batch_size // ctx.world_size, sampler=sampler,
                        num_workers=args.num_thread_reader, collate_fn=collate_batch, drop_last=True,
                        pin_memory=ctx.device.type == "cuda", persistent_workers=args.num_thread_reader > 0)
    if len(loader) == 0:
        raise InputError(f"{len(train_set)} training pairs are fewer than one global batch of {args.batch_size}")
    return train_set, sampler, loader


def resume_training(checkpoint: Dict, model, optimizer, scheduler, scaler, steps_per_epoch: int, rank: int,
                    last_path: str) -> TrainState:
    """Load the state of `checkpoint` (checkpoint_last.pt) into the training objects."""
    if checkpoint["steps_per_epoch"] != steps_per_epoch:
        raise InputError(f"{last_path}: the training data gives {steps_per_epoch} steps per epoch here, "
                         f"{checkpoint['steps_per_epoch']} when the run started (other data, or another number of "
                         "processes), and its learning-rate schedule was made for those; resume with the run's data")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    scaler.load_state_dict(checkpoint["scaler"])
    set_rng_state(checkpoint["rng_states"][rank % len(checkpoint["rng_states"])])
    LOG.info("resumed from %s: %d epochs, %d steps done", last_path, checkpoint["epoch"], checkpoint["step"])
    return TrainState(epoch=checkpoint["epoch"], step=checkpoint["step"])


def train(args, model: RetrievalModel, splits, source, tokenizer, ctx: DistributedContext, config: Dict,
          resume_from: Optional[Dict] = None) -> None:
    """Train for `args.epochs`; `resume_from` is the checkpoint that `--resume` continues."""
    image_size = model.backbone.image_size
    train_set, sampler, loader = build_train_loader(args, splits["train"], source, tokenizer, image_size, ctx)
    selection = "val" if "val" in splits else "test"
    if selection == "test":
        LOG.info("%s has no validation split here: model selection uses the TEST split (as the literature does "
                 "for MSR-VTT 1k-A); the reported test numbers are therefore not held out", args.datatype)
    evaluators = {name: Evaluator(args, splits[name], source, tokenizer, image_size, ctx)
                  for name in {selection, "test"}}

    optimizer, scheduler, groups = build_optimizer(model, args.lr, args.coef_lr, args.weight_decay,
                                                   total_steps=args.epochs * len(loader),
                                                   warmup_proportion=args.warmup_proportion,
                                                   recipe=args.optimizer, max_grad_norm=args.max_grad_norm)
    LOG.info("optimizer recipe %s: %s", args.optimizer, type(optimizer).__name__)
    for group in groups:
        LOG.info("param group lr %.2e wd %.2f: %d tensors", group["lr"], group["weight_decay"], len(group["params"]))
    scaler = torch.amp.GradScaler("cuda", enabled=args.precision == "fp16" and ctx.device.type == "cuda")
    state, best = TrainState(), None
    last_path, best_path = os.path.join(args.output_dir, LAST), os.path.join(args.output_dir, BEST)
    if resume_from is not None:
        state = resume_training(resume_from, model, optimizer, scheduler, scaler, len(loader), ctx.rank, last_path)
        best = resume_from["best"]
        if ctx.is_main:
            write_config(args.output_dir, config)
    elif args.init_model:
        for difference in differing_model_flags(args, load_model_weights(model, args.init_model)):
            LOG.warning("fine-tuning with another model flag than %s was trained with: %s", args.init_model, difference)
        LOG.info("initialised the model from %s", args.init_model)

    ddp_model = model
    if is_distributed():
        device_ids = [ctx.local_rank] if ctx.device.type == "cuda" else None
        ddp_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    writer = None
    if ctx.is_main:
        from torch.utils.tensorboard import SummaryWriter
        # a resume hides what an interrupted attempt logged after the checkpoint's step
        writer = SummaryWriter(os.path.join(args.output_dir, TENSORBOARD),
                               purge_step=state.step + 1 if resume_from is not None else None)
    LOG.info("training %d pairs, %d steps per epoch, global batch %d", len(train_set), len(loader), args.batch_size)
    try:
        while state.epoch < args.epochs:
            sampler.set_epoch(state.epoch)
            train_set.set_epoch(state.epoch)
            mean_loss = train_one_epoch(model, ddp_model, loader, optimizer, scheduler, scaler, state, ctx,
                                        args.gradient_accumulation_steps, args.max_grad_norm, args.n_display,
                                        os.path.join(args.output_dir, STEP_LOG) if ctx.is_main else None,
                                        writer, last_path)
            state.epoch += 1
            report = evaluators[selection](model)
            rng_states = [rng_state()]
            if is_distributed():
                rng_states = [None] * ctx.world_size
                dist.all_gather_object(rng_states, rng_state())
            if ctx.is_main:
                score = selection_score(report)
                improved = best is None or score > best["score"]
                best = best_record(state.epoch, score, selection, report) if improved else best
                log_report(report, f"epoch {state.epoch} mean loss {mean_loss:.4f}, eval")
                with open(os.path.join(args.output_dir, HISTORY), "a") as handle:
                    handle.write(json.dumps({"epoch": state.epoch, "step": state.step, "loss": mean_loss, **report}) + "\n")
                for direction in ("t2v", "v2t"):
                    for key in ("R1", "R5", "R10", "MdR"):
                        writer.add_scalar(f"{selection}/{direction}_{key}", report[direction][key], state.step)
                # last first: it records the best epoch, so a kill before the best write loses nothing
                save_checkpoint(last_path, training_state(model, optimizer, scheduler, scaler, state.epoch, state.step,
                                                          len(loader), config, best, rng_states))
                if improved:
                    save_checkpoint(best_path, best_checkpoint(model.state_dict(), config, best))
                    LOG.info("new best %s t2v R@1 %.2f at epoch %d -> %s", selection, score, state.epoch, best_path)
            if is_distributed():
                dist.barrier()
    finally:
        if writer is not None:
            writer.close()
    load_model_weights(model, best_path)
    report = evaluators["test"](model, output_name="metrics.json")
    if ctx.is_main:
        report_path = os.path.join(args.output_dir, "metrics.json")
        log_report(report, f"final (best {selection} checkpoint) test")
        LOG.info("metrics written to %s", report_path)
