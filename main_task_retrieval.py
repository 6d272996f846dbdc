"""Train and evaluate text-video retrieval: CLIP backbone + meanP / seqTransf / xpool / DLLFA.

    # one process (CPU or one GPU)
    python main_task_retrieval.py --do_train --datatype msrvtt --data_path ANNOTATIONS \\
        --features_path FRAMES --clip_checkpoint ViT-B-32.safetensors --output_dir runs/x
    # several GPUs / nodes
    torchrun --nproc_per_node 8 main_task_retrieval.py --do_train ...
    # eval-only
    python main_task_retrieval.py --do_eval --init_model runs/x/checkpoint_best.pt ...

Flag names follow CLIP4Clip where the meaning is the same; defaults are the literature's
recipe (DESIGN.md section 5). The full config is written to `output_dir/config.json`.
"""
import argparse
import json
import logging
import os
import platform
import random
import sys
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from dataloaders.registry import DATATYPES, load_retrieval_splits
from dataloaders.retrieval_datasets import EvalVideoDataset, TrainPairDataset, collate_batch
from dataloaders.twin_batch_sampler import TwinBatchSampler
from dataloaders.twin_pairs import TWIN_PAIRS_FILE, read_twin_index
from dataloaders.video_source import open_video_source
from modules.atomic_file import atomic_path
from modules.checkpointing import (BEST, LAST, load_checkpoint, load_model_weights, rng_state, save_checkpoint,
                                   set_rng_state, training_state)
from modules.clip_backbone import ClipBackbone
from modules.distributed import DistributedContext, init_distributed, is_distributed
from modules.errors import InputError
from modules.evaluation import evaluation_report, similarity_matrix
from modules.metrics import format_metrics
from modules.optimization import build_optimizer, freeze_clip_layers
from modules.retrieval_heads import HEAD_NAMES, build_head
from modules.retrieval_model import RetrievalModel
from modules.tokenizer import CaptionTokenizer
from modules.training_loop import TrainingDiverged, TrainState, train_one_epoch

LOG = logging.getLogger("dllfa")
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    task = parser.add_argument_group("task")
    task.add_argument("--do_train", action="store_true", help="train; ends with the test evaluation of the best checkpoint")
    task.add_argument("--do_eval", action="store_true", help="evaluate --init_model (or the CLIP weights) on the test split")
    task.add_argument("--output_dir", required=True, help="config, logs, checkpoints, metrics.json")
    task.add_argument("--seed", type=int, default=42)
    task.add_argument("--resume", action="store_true", help="continue from output_dir/checkpoint_last.pt")
    task.add_argument("--init_model", help="model weights to start from or evaluate (a checkpoint of this repository)")
    task.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")

    data = parser.add_argument_group("data")
    data.add_argument("--datatype", choices=DATATYPES, default="msrvtt")
    data.add_argument("--data_path", required=True, help="folder with the dataset's annotation files, as distributed")
    data.add_argument("--features_path", required=True,
                      help="frames folder written by preprocess/extract_frames.py, or a folder of videos")
    data.add_argument("--msrvtt_split", choices=["9k", "7k", "full"], default="9k",
                      help="9k/7k: train csv + 1k-A test; full: official train/validate/test (multi-caption)")
    data.add_argument("--max_words", type=int, default=32)
    data.add_argument("--max_frames", type=int, default=12)
    data.add_argument("--slice_framepos", default="uniform", help="head|tail|uniform (or CLIP4Clip's 0|1|2)")
    data.add_argument("--train_frame_order", default="normal", help="normal|reverse|shuffle (or 0|1|2)")
    data.add_argument("--eval_frame_order", default="normal", help="normal|reverse|shuffle (or 0|1|2)")
    data.add_argument("--train_random_offset", action="store_true",
                      help="training: a random frame inside each uniform segment instead of its first frame")
    data.add_argument("--train_captions", choices=["all", "one"], default="all",
                      help="all: every caption-video pair per epoch; one: one random caption per video")
    data.add_argument("--twin_batches", action="store_true",
                      help="keep each video and its time-reversed twin (data_path/order_contrast_pairs.csv, "
                           "the synthetic dataset) in one training batch; needs --train_captions one")
    data.add_argument("--on_missing", choices=["skip", "error"], default="skip",
                      help="videos without frames: skip (count reported) or stop")
    data.add_argument("--num_thread_reader", type=int, default=4, help="DataLoader workers per process")

    model = parser.add_argument_group("model")
    model.add_argument("--pretrained_clip_name", default="ViT-B/32", help="CLIP architecture (open_clip name)")
    model.add_argument("--clip_checkpoint", help="local CLIP weights (OpenAI .pt, state dict or .safetensors); "
                                                 "without it CLIP starts from random weights")
    model.add_argument("--sim_header", choices=HEAD_NAMES, default="dllfa")
    model.add_argument("--cross_num_hidden_layers", type=int, default=4, help="temporal encoder layers")
    model.add_argument("--attention_dim", type=int, default=64, help="key width of the text-to-frame attention")
    model.add_argument("--dllfa_levels", choices=["both", "frame", "token"], default="both")
    model.add_argument("--dllfa_no_temporal", action="store_true", help="ablation: DLLFA without the temporal encoder")
    model.add_argument("--temporal_centering", action="store_true",
                       help="temporal encoder (dllfa, seqTransf) input: each frame minus its video's mean frame, "
                            "for backbones whose frames of one video are nearly the same vector (README)")
    model.add_argument("--dllfa_fusion", default="0.5", help="weight of the frame level (0-1), or 'learned'")
    model.add_argument("--precision", choices=sorted(PRECISIONS), default="fp32", help="autocast dtype")
    model.add_argument("--grad_checkpointing", action="store_true")

    optim = parser.add_argument_group("optimization")
    optim.add_argument("--epochs", type=int, default=5)
    optim.add_argument("--batch_size", type=int, default=128, help="global batch per optimizer step")
    optim.add_argument("--batch_size_val", type=int, default=64, help="per-process batch of the evaluation encoders")
    optim.add_argument("--lr", type=float, default=1e-4, help="learning rate of the new parameters")
    optim.add_argument("--coef_lr", type=float, default=1e-3, help="CLIP learning rate = lr * coef_lr")
    optim.add_argument("--weight_decay", type=float, default=0.2)
    optim.add_argument("--warmup_proportion", type=float, default=0.1)
    optim.add_argument("--max_grad_norm", type=float, default=1.0)
    optim.add_argument("--gradient_accumulation_steps", type=int, default=1,
                       help="split each global batch into this many contrastive micro-batches")
    optim.add_argument("--freeze_layer_num", type=int, default=-1,
                       help="-1: train all of CLIP; N: freeze its embeddings and blocks 0..N-1")
    optim.add_argument("--n_display", type=int, default=50, help="TensorBoard logging interval in steps")

    evaluation = parser.add_argument_group("evaluation")
    evaluation.add_argument("--sim_memory_mb", type=float, default=2048,
                            help="memory budget of the pairwise scoring temporaries")
    evaluation.add_argument("--dual_softmax", action="store_true", help="also report dual-softmax metrics (separately)")
    evaluation.add_argument("--save_sim", action="store_true", help="write sim_matrix.npy and caption_video_index.npy")
    args = parser.parse_args(argv)
    check_args(parser, args)
    return args


def check_args(parser, args) -> None:
    if not (args.do_train or args.do_eval):
        parser.error("nothing to do: give --do_train and/or --do_eval")
    if args.dllfa_fusion != "learned":
        try:
            fusion = float(args.dllfa_fusion)
        except ValueError:
            fusion = -1.0
        if not 0.0 <= fusion <= 1.0:
            parser.error(f"--dllfa_fusion must be a number in [0, 1] or 'learned', got {args.dllfa_fusion!r}")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    per_step = world_size * args.gradient_accumulation_steps
    if args.batch_size % per_step:
        parser.error(f"--batch_size {args.batch_size} must divide into {world_size} processes x "
                     f"{args.gradient_accumulation_steps} accumulation steps")


def setup_logging(output_dir: str, is_main: bool) -> None:
    LOG.setLevel(logging.INFO if is_main else logging.WARNING)
    LOG.handlers.clear()
    LOG.propagate = False
    formatter = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
    handlers = [logging.StreamHandler(sys.stdout)]
    if is_main:
        handlers.append(logging.FileHandler(os.path.join(output_dir, "log.txt")))
    for handler in handlers:
        handler.setFormatter(formatter)
        LOG.addHandler(handler)


def write_json(path: str, content: Dict) -> None:
    with atomic_path(path) as temporary, open(temporary, "w") as handle:
        json.dump(content, handle, indent=2)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(args, device: torch.device) -> RetrievalModel:
    backbone = ClipBackbone(args.pretrained_clip_name, checkpoint=args.clip_checkpoint,
                            grad_checkpointing=args.grad_checkpointing, autocast_dtype=PRECISIONS[args.precision])
    pretrained = args.clip_checkpoint is not None  # CLIP4Clip's init copies pretrained text blocks only
    head = build_head(args.sim_header, embed_dim=backbone.embed_dim, max_frames=args.max_frames,
                      temporal_layers=args.cross_num_hidden_layers,
                      clip_text_transformer=backbone.clip.transformer if pretrained else None,
                      clip_positional_embedding=backbone.clip.positional_embedding if pretrained else None,
                      attention_dim=args.attention_dim, dllfa_levels=args.dllfa_levels,
                      dllfa_temporal=not args.dllfa_no_temporal, temporal_centering=args.temporal_centering,
                      dllfa_fusion=None if args.dllfa_fusion == "learned" else float(args.dllfa_fusion))
    model = RetrievalModel(backbone, head, sim_memory_mb=args.sim_memory_mb)
    frozen = freeze_clip_layers(backbone.clip, args.freeze_layer_num)
    if frozen:
        LOG.info("froze %d CLIP tensors (--freeze_layer_num %d)", frozen, args.freeze_layer_num)
    return model.to(device)


class Evaluator:
    """Evaluation of one split: its caption list, video dataset and twin index, built once."""

    def __init__(self, args, split, source, tokenizer, image_size: int, ctx: DistributedContext):
        self.args, self.split, self.tokenizer, self.ctx = args, split, tokenizer, ctx
        self.videos = EvalVideoDataset(split, source, max_frames=args.max_frames, image_size=image_size,
                                       slice_framepos=args.slice_framepos, frame_order=args.eval_frame_order)
        self.twins = read_twin_index(split.dataset, args.data_path, split.video_ids)

    def __call__(self, model: RetrievalModel, output_name: Optional[str] = None) -> Dict:
        args = self.args
        sim = similarity_matrix(model, self.split, self.videos, self.tokenizer, args.batch_size_val,
                                args.num_thread_reader, self.ctx).numpy()
        report = evaluation_report(sim, self.split, self.twins, args.dual_softmax) if self.ctx.is_main else {}
        if self.ctx.is_main and output_name:
            write_json(os.path.join(args.output_dir, output_name), report)
            if args.save_sim:
                np.save(os.path.join(args.output_dir, "sim_matrix.npy"), sim)
                np.save(os.path.join(args.output_dir, "caption_video_index.npy"),
                        np.asarray(self.split.caption_video_index))
        return report


def log_report(report: Dict, title: str) -> None:
    LOG.info("%s: %s %s, %d captions x %d videos", title, report["dataset"], report["split"],
             report["n_captions"], report["n_videos"])
    for line in format_metrics({k: report[k] for k in ("t2v", "v2t")}).splitlines():
        LOG.info("  %s", line)
    if "order_contrast" in report:
        LOG.info("  order-contrast accuracy %.3f", report["order_contrast"])
    if "dual_softmax" in report:
        for line in format_metrics(report["dual_softmax"]).splitlines():
            LOG.info("  dual softmax %s", line)


def selection_score(report: Dict) -> float:
    """Model selection: text-to-video R@1."""
    return report["t2v"]["R1"]


def build_train_loader(args, split, source, tokenizer, image_size: int, ctx: DistributedContext):
    """This rank's share of every epoch: (dataset, sampler, loader); call `set_epoch` on the
    dataset and the sampler before each epoch."""
    train_set = TrainPairDataset(split, source, tokenizer, max_frames=args.max_frames,
                                 image_size=image_size, slice_framepos=args.slice_framepos,
                                 frame_order=args.train_frame_order, random_offset=args.train_random_offset,
                                 captions_per_video=args.train_captions, seed=args.seed)
    if args.twin_batches:
        twins = read_twin_index(split.dataset, args.data_path, split.video_ids)
        if twins is None:
            raise InputError(f"--twin_batches needs {os.path.join(args.data_path, TWIN_PAIRS_FILE)}")
        if args.train_captions != "one":
            raise InputError("--twin_batches needs --train_captions one (one item per video)")
        sampler = TwinBatchSampler(twins, args.batch_size, ctx.rank, ctx.world_size, args.seed)
    else:
        sampler = DistributedSampler(train_set, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                     seed=args.seed, drop_last=True)
    loader = DataLoader(train_set, batch_size=args.batch_size // ctx.world_size, sampler=sampler,
                        num_workers=args.num_thread_reader, collate_fn=collate_batch, drop_last=True,
                        pin_memory=ctx.device.type == "cuda", persistent_workers=args.num_thread_reader > 0)
    if len(loader) == 0:
        raise InputError(f"{len(train_set)} training pairs are fewer than one global batch of {args.batch_size}")
    return train_set, sampler, loader


def train(args, model: RetrievalModel, splits, source, tokenizer, ctx: DistributedContext, config: Dict) -> None:
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
                                                   warmup_proportion=args.warmup_proportion)
    for group in groups:
        LOG.info("param group lr %.2e wd %.2f: %d tensors", group["lr"], group["weight_decay"], len(group["params"]))
    scaler = torch.amp.GradScaler("cuda", enabled=args.precision == "fp16" and ctx.device.type == "cuda")
    state, best_score = TrainState(), None
    last_path, best_path = os.path.join(args.output_dir, LAST), os.path.join(args.output_dir, BEST)
    if args.resume:
        checkpoint = load_checkpoint(last_path)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        scaler.load_state_dict(checkpoint["scaler"])
        state = TrainState(epoch=checkpoint["epoch"], step=checkpoint["step"])
        best_score = checkpoint["best_score"]
        set_rng_state(checkpoint["rng_states"][ctx.rank % len(checkpoint["rng_states"])])
        LOG.info("resumed from %s: %d epochs, %d steps done", last_path, state.epoch, state.step)
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
        writer = SummaryWriter(os.path.join(args.output_dir, "tensorboard"))
    LOG.info("training %d pairs, %d steps per epoch, global batch %d", len(train_set), len(loader), args.batch_size)
    try:
        while state.epoch < args.epochs:
            sampler.set_epoch(state.epoch)
            train_set.set_epoch(state.epoch)
            mean_loss = train_one_epoch(model, ddp_model, loader, optimizer, scheduler, scaler, state, ctx,
                                        args.gradient_accumulation_steps, args.max_grad_norm, args.n_display,
                                        os.path.join(args.output_dir, "train_steps.jsonl") if ctx.is_main else None,
                                        writer, last_path)
            state.epoch += 1
            report = evaluators[selection](model)
            rng_states = [rng_state()]
            if is_distributed():
                rng_states = [None] * ctx.world_size
                dist.all_gather_object(rng_states, rng_state())
            if ctx.is_main:
                score = selection_score(report)
                improved = best_score is None or score > best_score
                best_score = score if improved else best_score
                log_report(report, f"epoch {state.epoch} mean loss {mean_loss:.4f}, eval")
                with open(os.path.join(args.output_dir, "metrics_history.jsonl"), "a") as handle:
                    handle.write(json.dumps({"epoch": state.epoch, "step": state.step, "loss": mean_loss, **report}) + "\n")
                for direction in ("t2v", "v2t"):
                    for key in ("R1", "R5", "R10", "MdR"):
                        writer.add_scalar(f"{selection}/{direction}_{key}", report[direction][key], state.step)
                save_checkpoint(last_path, training_state(model, optimizer, scheduler, scaler, state.epoch, state.step,
                                                          config, best_score, rng_states))
                if improved:
                    save_checkpoint(best_path, {"model": model.state_dict(), "config": config,
                                                "epoch": state.epoch, "selection_split": selection, "report": report})
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


# Flags that change what a model computes without changing its parameter shapes: a checkpoint
# evaluated with other values would load and give other numbers.
MODEL_FLAGS = ("pretrained_clip_name", "sim_header", "cross_num_hidden_layers", "attention_dim", "dllfa_levels",
               "dllfa_no_temporal", "dllfa_fusion", "temporal_centering")


def differing_model_flags(args, checkpoint: Dict) -> List[str]:
    """`--flag: ours vs the checkpoint's` for every MODEL_FLAGS entry the checkpoint's config
    records with another value (none for a plain state dict, which has no config)."""
    def canonical(flag, value):
        if flag == "pretrained_clip_name":
            return str(value).replace("/", "-")
        if flag == "dllfa_fusion" and value != "learned":
            return float(value)
        return value

    config = checkpoint.get("config") or {}
    return [f"--{flag}: {getattr(args, flag)} here, {config[flag]} in the checkpoint" for flag in MODEL_FLAGS
            if flag in config and canonical(flag, config[flag]) != canonical(flag, getattr(args, flag))]


def evaluate_only(args, model: RetrievalModel, splits, source, tokenizer, ctx: DistributedContext) -> None:
    if args.init_model:
        differing = differing_model_flags(args, load_model_weights(model, args.init_model))
        if differing:
            raise InputError(f"{args.init_model} was trained with other model flags; pass the run's own "
                             "(its config.json):\n  " + "\n  ".join(differing))
        LOG.info("evaluating %s", args.init_model)
    else:
        LOG.info("no --init_model: evaluating the CLIP weights with a freshly initialised %s head", args.sim_header)
    report = Evaluator(args, splits["test"], source, tokenizer, model.backbone.image_size, ctx)(model, "metrics.json")
    if ctx.is_main:
        log_report(report, "eval")
        LOG.info("metrics written to %s", os.path.join(args.output_dir, "metrics.json"))


def run(args) -> None:
    ctx = init_distributed(args.device)
    os.makedirs(args.output_dir, exist_ok=True)
    setup_logging(args.output_dir, ctx.is_main)
    config = {**vars(args), "world_size": ctx.world_size, "device": str(ctx.device), "torch": str(torch.__version__),
              "python": platform.python_version(), "command": " ".join(sys.argv)}
    if ctx.is_main:
        write_json(os.path.join(args.output_dir, "config.json"), config)
    seed_everything(args.seed + ctx.rank)
    splits = load_retrieval_splits(args.datatype, args.data_path, msrvtt_split=args.msrvtt_split)
    source = open_video_source(args.features_path)
    splits = {name: source.restrict(split, on_missing=args.on_missing) for name, split in splits.items()}
    for name, split in splits.items():
        LOG.info("%s %s: %d captions, %d videos", args.datatype, name, len(split.captions), len(split.video_ids))
    tokenizer = CaptionTokenizer(args.max_words)
    torch.manual_seed(args.seed)  # identical initial weights on every rank
    model = build_model(args, ctx.device)
    if args.do_train:
        train(args, model, splits, source, tokenizer, ctx, config)
    else:
        evaluate_only(args, model, splits, source, tokenizer, ctx)
    if is_distributed():
        dist.barrier()
        dist.destroy_process_group()


def main(argv=None) -> int:
    args = get_args(argv)
    try:
        run(args)
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
