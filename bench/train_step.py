"""Benchmark (not a test): training throughput, and where a step's time goes.

    python -m bench.train_step [--model tiny] [--batch_size 32] [--steps 20] [--workers 2] [--json]
    python -m bench.train_step --model ViT-B-32 --batch_size 32 --precision bf16 --workers 12   # GPU
    torchrun --nproc_per_node 2 -m bench.train_step --optimizer clip4clip ...                  # DDP

It runs the real training path: the driver's model (`--optimizer` picks the recipe; clip4clip
stores CLIP in fp16 and trains with BertAdam, as the launchers do) and `Trainer.train_epoch`
(its loader, DDP under torchrun, grad clipping, the NaN check every --n_display steps), on a synthetic dataset
generated and frame-extracted at the model's resolution (frames on disk as JPEG, decoded by the
loader's workers; the clips are read again once they run out). Over the measured steps (after
`--warmup` steps) it reports clips per second (all processes), and each step's time split into
- data: blocked waiting for the next batch,
- optimizer: the optimizer's step (BertAdam or AdamW; GradScaler's skipped steps take none),
- forward + backward: the rest (forward, loss, backward, the global grad clip, logging),
with the device synchronised at those boundaries (on a GPU this removes the overlap of a step's
tail with the next step's data copy, a few per cent). Also: peak GPU memory of this process,
model FLOPs per clip and MFU:

    MFU = F x (clips per second per process) / peak
    F   = forward + backward FLOPs of one clip, counted by torch.utils.flop_counter: 2 m n k per
          [m, k] x [k, n] matrix product (linear layers, attention, convolutions alike), the
          backward's products included, elementwise work not counted
    peak = the card's dense tensor-core FLOP/s for the products' dtype (PEAK_FLOPS; fp16 under
          clip4clip's fp16 CLIP weights and fp16 AMP, bf16 under bf16 AMP, fp32 without TF32)
"""
import argparse
import json
import os
import tempfile
import time

import torch
import torch.distributed as dist
from torch.utils.flop_counter import FlopCounterMode

from bench.machine import cpu_name
from dataloaders.registry import load_retrieval_splits
from dataloaders.video_source import open_video_source
from driver.flags import PRECISIONS, get_args
from driver.model_setup import build_model
from driver.process_group import DEVICES, DistributedContext, init_distributed
from driver.selection import selection_splits
from driver.trainer import Trainer
from modules.clip_backbone import clip_architecture_config
from modules.collectives import is_distributed
from modules.optimization import OPTIMIZERS
from modules.tokenizer import CaptionTokenizer
from preprocess.extract_frames import extract_frames
from preprocess.make_synthetic_dataset import make_synthetic_dataset

# Dense (no sparsity) tensor-core peaks in FLOP/s, from the vendors' data sheets (SXM parts).
PEAK_FLOPS = {"H100": {"bf16": 989e12, "fp16": 989e12, "fp32": 67e12},
              "H200": {"bf16": 989e12, "fp16": 989e12, "fp32": 67e12},
              "A100": {"bf16": 312e12, "fp16": 312e12, "fp32": 19.5e12}}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class StepTimes:
    """Seconds spent waiting for data and in the optimizer, over the measured steps."""

    def __init__(self, device: torch.device):
        self.device, self.measuring = device, False
        self.data = self.optimizer = 0.0
        self.optimizer_steps = 0

    def timed_step(self, step):
        """`optimizer.step` that adds its time (device synchronised before and after)."""
        def timed(*args, **kwargs):
            synchronize(self.device)
            started = time.perf_counter()
            result = step(*args, **kwargs)
            synchronize(self.device)
            if self.measuring:
                self.optimizer += time.perf_counter() - started
                self.optimizer_steps += 1
            return result
        return timed


class TimedBatches:
    """Yields `warmup + steps` batches of `loader` (starting it again when it runs out); after
    the warmup it adds the time spent waiting in `next()` to `times.data` and notes when
    measuring started. The device is synchronised before each batch is asked for, so that a
    step's time ends with its work."""

    def __init__(self, loader, warmup: int, steps: int, times: StepTimes):
        self.loader, self.warmup, self.steps, self.times = loader, warmup, steps, times
        self.started = None

    def __iter__(self):
        batches = iter(self.loader)
        for index in range(self.warmup + self.steps):
            synchronize(self.times.device)
            if index == self.warmup:
                self.started, self.times.measuring = time.perf_counter(), True
            asked = time.perf_counter()
            try:
                batch = next(batches)
            except StopIteration:
                batches = iter(self.loader)
                batch = next(batches)
            if index >= self.warmup:
                self.times.data += time.perf_counter() - asked
            yield batch


def flops_per_clip(model, batch, device) -> float:
    """Forward + backward FLOPs of one training step, divided by the clips in the batch."""
    counter = FlopCounterMode(display=False)
    with counter:
        loss = model(batch["tokens"].to(device), batch["video"].to(device), batch["video_mask"].to(device))
        loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(batch["tokens"])


def peak_flops(device: torch.device, precision: str):
    if device.type != "cuda":
        return None, None
    name = torch.cuda.get_device_name(device)
    for card, peaks in PEAK_FLOPS.items():
        if card in name:
            return name, peaks[precision]
    return name, None


def prepare_data(workdir: str, image_size: int, frames: int, train_videos: int, test_videos: int = 2):
    """A synthetic MSR-VTT-format dataset (2 captions per video, 3 events) and its frames at
    `image_size` under `workdir`, reused when made before; returns (annotations, frames folder)."""
    event_seconds = max(2, -(-frames // 3))  # 3 events: at least `frames` frames per video
    data = make_synthetic_dataset(os.path.join(workdir, f"data_{image_size}px"),
                                  train_videos=train_videos + train_videos % 2, val_videos=0,
                                  test_videos=test_videos, captions_per_video=2, size=image_size,
                                  event_seconds=event_seconds, min_events=3, max_events=3, fps=2, seed=0)
    frames_dir = os.path.join(workdir, f"frames_{image_size}px")
    extract_frames(data["videos_dir"], frames_dir, fps=1, short_side=image_size, workers=os.cpu_count())
    return data["annotations_dir"], frames_dir


def measure(options, ctx: DistributedContext, annotations: str, frames_dir: str) -> dict:
    """Train `options.warmup + options.steps` steps of the recipe `options.optimizer` at
    `options.precision`; return the throughput, the time split, memory and MFU."""
    recipe = ["--optimizer", options.optimizer] + (["--freeze_layer_num", "0"] if options.optimizer == "clip4clip" else [])
    args = get_args([
        "--do_train", "--data_path", annotations, "--features_path", frames_dir,
        "--output_dir", os.path.join(os.path.dirname(frames_dir), "run"), "--pretrained_clip_name", options.model,
        "--sim_header", options.head, "--max_frames", str(options.frames), "--batch_size", str(options.batch_size),
        "--num_thread_reader", str(options.workers), "--precision", options.precision, "--device", options.device,
        "--lr", "1e-4", "--coef_lr", "1e-3", *recipe])
    torch.manual_seed(0)
    model = build_model(args, ctx.device)
    source = open_video_source(args.features_path)
    splits = {name: source.restrict(split) for name, split in load_retrieval_splits("msrvtt", args.data_path).items()}
    os.makedirs(args.output_dir, exist_ok=True)  # the per-step log
    splits, selection, _ = selection_splits(args, splits)
    trainer = Trainer(args, model, splits, selection, source, CaptionTokenizer(args.max_words), ctx, config={})
    times = StepTimes(ctx.device)
    trainer.optimizer.step = times.timed_step(trainer.optimizer.step)
    loader = trainer.loader
    trainer.loader = batches = TimedBatches(loader, options.warmup, options.steps, times)
    if ctx.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(ctx.device)
    trainer.train_epoch()
    synchronize(ctx.device)
    elapsed = time.perf_counter() - batches.started
    peak_memory = torch.cuda.max_memory_allocated(ctx.device) if ctx.device.type == "cuda" else None
    local_batch = args.batch_size // ctx.world_size
    clips_per_s = options.steps * local_batch / elapsed  # this process
    flops = flops_per_clip(model, next(iter(loader)), ctx.device)
    product_dtype = "fp16" if options.optimizer == "clip4clip" else options.precision
    card, peak = peak_flops(ctx.device, product_dtype)
    step = elapsed / options.steps
    return {
        "model": options.model, "head": options.head, "optimizer": options.optimizer,
        "device": card or cpu_name(), "processes": ctx.world_size,
        "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": str(torch.__version__),
        "precision": options.precision, "product_dtype": product_dtype, "batch_size": options.batch_size,
        "frames": options.frames, "image_size": model.backbone.image_size, "workers": options.workers,
        "steps": options.steps, "clips_per_s": round(clips_per_s * ctx.world_size, 2), "step_seconds": round(step, 4),
        "data_seconds": round(times.data / options.steps, 4),
        "optimizer_seconds": round(times.optimizer / options.steps, 4), "optimizer_steps": times.optimizer_steps,
        "forward_backward_seconds": round((elapsed - times.data - times.optimizer) / options.steps, 4),
        "data_wait_share": round(times.data / elapsed, 4),
        "peak_memory_bytes": peak_memory, "flops_per_clip": flops,
        "mfu": round(flops * clips_per_s / peak, 4) if peak else None,
    }


def run(options) -> dict:
    workdir = options.workdir or tempfile.mkdtemp(prefix="bench_train_step_")
    ctx = init_distributed(options.device)
    image_size = clip_architecture_config(options.model)["vision_cfg"]["image_size"]
    videos = max(22, options.batch_size * (options.warmup + options.steps + 1))
    if ctx.is_main:
        data = prepare_data(workdir, image_size, options.frames, videos)
    if is_distributed():  # the other processes use what the first one made
        dist.barrier()
    if not ctx.is_main:
        data = prepare_data(workdir, image_size, options.frames, videos)  # reused, nothing written
    return measure(options, ctx, *data)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options of one measurement (bench/gpu_check_steps.py takes them too)."""
    parser.add_argument("--model", default="tiny", help="CLIP architecture (tiny, small, ViT-B-32, ...), random init")
    parser.add_argument("--head", default="dllfa")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--batch_size", type=int, default=32, help="global batch (all processes)")
    parser.add_argument("--steps", type=int, default=20, help="measured steps")
    parser.add_argument("--warmup", type=int, default=3, help="steps run before measuring")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers per process")
    parser.add_argument("--device", choices=DEVICES, default="auto")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw", help="the recipe (main_task_retrieval's flag)")
    parser.add_argument("--precision", choices=sorted(PRECISIONS), default="fp32")
    parser.add_argument("--workdir", help="keep the generated data here (default: a new temporary folder)")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    result = run(options)
    if not is_distributed() or dist.get_rank() == 0:
        if options.json:
            print(json.dumps(result))
        else:
            for key, value in result.items():
                print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
