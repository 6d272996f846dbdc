"""Training in the driver: a `Trainer` holds one run's objects (this rank's loader, the DDP
wrapper, optimizer, schedule, gradient scaler, evaluators) and runs it: each epoch's steps
(micro-batches, grad clipping, scheduler, logit-scale clamp), model selection after each epoch
(driver/selection.py), resumable checkpoints, and the final test evaluation of the selected model.

A step never waits for the device: its loss and logit scale stay on the device until every
`--n_display` steps (and at the end of each epoch) the steps since are read in one transfer,
logged per step, and checked. A non-finite loss stops the run there (`TrainingDiverged`, naming
the first bad step), within `--n_display` steps and always before the epoch's checkpoint is
written, so no checkpoint holds a diverged model.
"""
import contextlib
import json
import logging
import os
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

from dataloaders.caption_matches import padded_matches, read_caption_matches
from dataloaders.loader_workers import clip_loader
from dataloaders.retrieval_datasets import TrainPairDataset, collate_batch
from dataloaders.twin_batch_sampler import TwinBatchSampler
from dataloaders.twin_pairs import TWIN_PAIRS_FILE, read_all_twins, twin_families
from driver.checkpoints import (BEST, LAST, best_checkpoint, best_record, differing_model_flags, load_model_weights,
                                rng_state, save_checkpoint, set_rng_state, training_state)
from driver.evaluate import Evaluator, log_report, selection_score
from driver.process_group import DistributedContext
from driver.run_files import HISTORY, STEP_LOG, TENSORBOARD, write_config
from driver.selection import Selection, log_selection
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


@dataclass
class PendingStep:
    """A finished step whose numbers are still on the device."""
    step: int
    lr: float
    loss: torch.Tensor         # [] detached
    logit_scale: torch.Tensor  # [] exp(logit_scale) after the step


def build_train_loader(args, split, source, tokenizer, image_size: int, ctx: DistributedContext):
    """This rank's share of every epoch: (dataset, sampler, loader); call `set_epoch` on the
    dataset and the sampler before each epoch."""
    matches = None
    if args.train_positives == "matches":
        matches = padded_matches(read_caption_matches(split, args.data_path))  # [num_captions, K]
        LOG.info("training target: %d of %d captions describe more than their own video",
                 int((matches[:, 1] >= 0).sum()) if matches.shape[1] > 1 else 0, len(matches))
    train_set = TrainPairDataset(split, source, tokenizer, max_frames=args.max_frames,
                                 image_size=image_size, slice_framepos=args.slice_framepos,
                                 frame_order=args.train_frame_order, random_offset=args.train_random_offset,
                                 captions_per_video=args.train_captions, seed=args.seed, caption_matches=matches)
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
    loader = clip_loader(train_set, train_set.spec, args.batch_size // ctx.world_size, args.num_thread_reader,
                         sampler=sampler, collate_fn=collate_batch, drop_last=True,
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


class Trainer:
    """One training run: `Trainer(...).run()` trains the epochs that remain (all of them, or those
    after the checkpoint that `resume_from` holds), choosing the epoch as `selection` says, and
    evaluates the selected model on the test split."""

    def __init__(self, args, model: RetrievalModel, splits, selection: Selection, source, tokenizer,
                 ctx: DistributedContext, config: Dict, resume_from: Optional[Dict] = None):
        self.args, self.model, self.ctx, self.config = args, model, ctx, config
        image_size = model.backbone.image_size
        self.train_set, self.sampler, self.loader = build_train_loader(args, splits["train"], source, tokenizer,
                                                                       image_size, ctx)
        self.selection = selection
        log_selection(args, selection)
        self.evaluators = {name: Evaluator(args, splits[name], source, tokenizer, image_size, ctx)
                           for name in {selection.split, "test"} if name}
        self.optimizer, self.scheduler, groups = build_optimizer(
            model, args.lr, args.coef_lr, args.weight_decay, total_steps=args.epochs * len(self.loader),
            warmup_proportion=args.warmup_proportion, recipe=args.optimizer, max_grad_norm=args.max_grad_norm)
        LOG.info("optimizer recipe %s: %s", args.optimizer, type(self.optimizer).__name__)
        for group in groups:
            LOG.info("param group lr %.2e wd %.2f: %d tensors", group["lr"], group["weight_decay"], len(group["params"]))
        self.scaler = torch.amp.GradScaler("cuda", enabled=args.precision == "fp16" and ctx.device.type == "cuda")
        self.state, self.best, self.resumed = TrainState(), None, resume_from is not None
        self.last_path, self.best_path = os.path.join(args.output_dir, LAST), os.path.join(args.output_dir, BEST)
        self.step_log = os.path.join(args.output_dir, STEP_LOG) if ctx.is_main else None
        if resume_from is not None:
            self.state = resume_training(resume_from, model, self.optimizer, self.scheduler, self.scaler,
                                         len(self.loader), ctx.rank, self.last_path)
            self.best = resume_from["best"]
            if ctx.is_main:
                write_config(args.output_dir, config)
        elif args.init_model:
            for difference in differing_model_flags(args, load_model_weights(model, args.init_model)):
                LOG.warning("fine-tuning with another model flag than %s was trained with: %s", args.init_model,
                            difference)
            LOG.info("initialised the model from %s", args.init_model)
        self.ddp_model = model
        if is_distributed():
            device_ids = [ctx.local_rank] if ctx.device.type == "cuda" else None
            self.ddp_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
        self.writer = None  # TensorBoard, on the main rank while `run` runs

    def run(self) -> None:
        args, ctx = self.args, self.ctx
        if ctx.is_main:
            from torch.utils.tensorboard import SummaryWriter
            # a resume hides what an interrupted attempt logged after the checkpoint's step
            self.writer = SummaryWriter(os.path.join(args.output_dir, TENSORBOARD),
                                        purge_step=self.state.step + 1 if self.resumed else None)
        LOG.info("training %d pairs, %d steps per epoch, global batch %d", len(self.train_set), len(self.loader),
                 args.batch_size)
        try:
            while self.state.epoch < args.epochs:
                self.sampler.set_epoch(self.state.epoch)
                self.train_set.set_epoch(self.state.epoch)
                mean_loss = self.train_epoch()
                self.state.epoch += 1
                self.end_epoch(mean_loss)
        finally:
            if self.writer is not None:
                self.writer.close()
        load_model_weights(self.model, self.best_path)
        chosen = (self.best.get("selection") or self.selection.record(self.best["epoch"])) if ctx.is_main else {}
        report = self.evaluators["test"](self.model, output_name="metrics.json", record={"selection": chosen})
        if ctx.is_main:
            log_report(report, f"final test (epoch {chosen['epoch']}, selected by {chosen['rule']}"
                               f"{' on ' + chosen['split'] if 'split' in chosen else ''})")
            LOG.info("metrics written to %s", os.path.join(args.output_dir, "metrics.json"))

    def train_epoch(self) -> float:
        """Train over the loader once; return the mean loss."""
        self.ddp_model.train()
        losses: List[float] = []
        pending: List[PendingStep] = []
        bar = progress(self.loader, desc=f"epoch {self.state.epoch + 1}", unit="step", disable=not self.ctx.is_main)
        for batch in bar:
            pending.append(self.train_step(batch))
            if self.state.step % self.args.n_display == 0:
                losses += self.read_steps(pending, bar)
                pending = []
        if pending:
            losses += self.read_steps(pending, bar)
        return sum(losses) / max(1, len(losses))

    def train_step(self, batch) -> PendingStep:
        """One optimizer step over the global batch, in `gradient_accumulation_steps` micro-batches;
        nothing here reads a tensor back from the device."""
        device, parts = self.ctx.device, self.args.gradient_accumulation_steps
        tokens = batch["tokens"].to(device, non_blocking=True)                # [B_local, L]
        video = batch["video"].to(device, non_blocking=True)                  # [B_local, T, 3, H, W]
        video_mask = batch["video_mask"].to(device, non_blocking=True)        # [B_local, T]
        matches = batch.get("caption_matches")  # [B_local, K] the videos each caption describes, or absent
        if matches is not None:
            matches = matches.to(device, non_blocking=True)                         # [B_local, K]
            video_index = batch["video_index"].to(device, non_blocking=True)     # [B_local]
        step_loss = torch.zeros((), device=device)
        for part in range(parts):
            chunk = slice(part * len(tokens) // parts, (part + 1) * len(tokens) // parts)
            last_part = part == parts - 1
            sync = last_part or not hasattr(self.ddp_model, "no_sync")  # DDP all-reduces on the last part
            with contextlib.nullcontext() if sync else self.ddp_model.no_sync():
                positives = () if matches is None else (matches[chunk], video_index[chunk])
                loss = self.ddp_model(tokens[chunk], video[chunk], video_mask[chunk], *positives) / parts
                self.scaler.scale(loss).backward()
            step_loss += loss.detach()
        self.scaler.unscale_(self.optimizer)
        if self.args.max_grad_norm > 0:  # CLIP4Clip's global clip too (main_task_retrieval.py:278), fp16 grads included
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.model.clamp_logit_scale()
        self.state.step += 1
        return PendingStep(self.state.step, self.scheduler.get_last_lr()[-1], step_loss,
                           self.model.backbone.logit_scale.detach().exp())

    def read_steps(self, pending: List[PendingStep], bar) -> List[float]:
        """Read the losses and logit scales of `pending` in one transfer, stop on a non-finite
        loss (every rank together), log each step; return the losses."""
        losses = torch.stack([p.loss for p in pending])  # [k]
        finite = torch.isfinite(losses).float()  # [k]
        if is_distributed():
            dist.all_reduce(finite, op=dist.ReduceOp.MIN)  # every rank stops together, at the same step
        k = len(pending)
        read = torch.cat([losses, torch.stack([p.logit_scale for p in pending]), finite]).tolist()
        losses, scales, finite = read[:k], read[k:2 * k], read[2 * k:]
        if not all(finite):
            first = finite.index(0.0)
            raise TrainingDiverged(
                f"loss is {losses[first]} at step {pending[first].step} (epoch {self.state.epoch + 1}); stopped at "
                f"step {pending[-1].step}, before any checkpoint of this epoch. The last good checkpoint is "
                f"{self.last_path} (if one was written).")
        if self.ctx.is_main:
            bar.set_postfix(loss=f"{losses[-1]:.4f}", lr=f"{pending[-1].lr:.2e}")
            with open(self.step_log, "a") as handle:
                for p, loss, scale in zip(pending, losses, scales):
                    handle.write(json.dumps({"step": p.step, "epoch": self.state.epoch + 1, "loss": loss,
                                             "lr": p.lr, "logit_scale": scale}) + "\n")
            for p, loss, scale in zip(pending, losses, scales):
                if self.writer is not None and (p.step % self.args.n_display == 0 or p.step == 1):
                    self.writer.add_scalar("train/loss", loss, p.step)
                    self.writer.add_scalar("train/lr", p.lr, p.step)
                    self.writer.add_scalar("train/logit_scale", scale, p.step)
        return losses

    def end_epoch(self, mean_loss: float) -> None:
        """Evaluate on the selection split (if any), log, and write the checkpoints (the best one if
        this epoch is selected: improved, or the last epoch with `--model_selection last`)."""
        args, ctx, state, selection = self.args, self.ctx, self.state, self.selection
        report = self.evaluators[selection.split](self.model) if selection.split else {}
        rng_states = [rng_state()]
        if is_distributed():
            rng_states = [None] * ctx.world_size
            dist.all_gather_object(rng_states, rng_state())
        if ctx.is_main:
            score = selection_score(report) if report else None
            improved = self.best is None or selection.rule == "last" or score > self.best["score"]
            if improved:
                self.best = {**best_record(state.epoch, score, selection.split, report),
                             "selection": selection.record(state.epoch)}
            if report:
                log_report(report, f"epoch {state.epoch} mean loss {mean_loss:.4f}, eval")
            else:
                LOG.info("epoch %d mean loss %.4f", state.epoch, mean_loss)
            with open(os.path.join(args.output_dir, HISTORY), "a") as handle:
                handle.write(json.dumps({"epoch": state.epoch, "step": state.step, "loss": mean_loss, **report}) + "\n")
            for direction in ("t2v", "v2t") if report else ():
                for key in ("R1", "R5", "R10", "MdR"):
                    self.writer.add_scalar(f"{selection.split}/{direction}_{key}", report[direction][key], state.step)
            # last first: it records the best epoch, so a kill before the best write loses nothing
            save_checkpoint(self.last_path, training_state(self.model, self.optimizer, self.scheduler, self.scaler,
                                                           state.epoch, state.step, len(self.loader), self.config,
                                                           self.best, rng_states))
            if improved:
                save_checkpoint(self.best_path, best_checkpoint(self.model.state_dict(), self.config, self.best))
                LOG.info("selected epoch %d (%s) -> %s", state.epoch,
                         "the last" if selection.rule == "last" else f"{selection.split} t2v R@1 {score:.2f}",
                         self.best_path)
        if is_distributed():
            dist.barrier()
