"""Benchmark (not a test): training throughput and the share of step time spent waiting for data.

    python -m bench.train_step [--model tiny] [--batch_size 32] [--steps 20] [--workers 2] [--json]
    python -m bench.train_step --model ViT-B-32 --batch_size 32 --precision bf16 --workers 12   # GPU

It runs the real training path: the driver's model, DataLoader and `Trainer.train_epoch`
(AdamW, grad clipping, the NaN check every --n_display steps), on a synthetic dataset generated and frame-extracted at the
model's resolution (frames on disk as JPEG, decoded by the loader's workers). It reports clips
per second over the measured steps (after `--warmup` steps), the share of that time the
training loop spent blocked waiting for the next batch, model FLOPs per clip (forward +
backward, counted by torch.utils.flop_counter), and on a GPU the model FLOPs utilisation
against the card's dense peak for the autocast dtype.
"""
import argparse
import json
import os
import tempfile
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.machine import cpu_name
from dataloaders.registry import load_retrieval_splits
from dataloaders.video_source import open_video_source
from driver.flags import PRECISIONS, get_args
from driver.model_setup import build_model
from driver.process_group import DEVICES, init_distributed
from driver.trainer import Trainer
from modules.clip_backbone import clip_architecture_config
from modules.tokenizer import CaptionTokenizer
from preprocess.extract_frames import extract_frames
from preprocess.make_synthetic_dataset import make_synthetic_dataset

# Dense (no sparsity) tensor-core peaks in FLOP/s, from the vendors' data sheets (SXM parts).
PEAK_FLOPS = {"H100": {"bf16": 989e12, "fp16": 989e12, "fp32": 67e12},
              "H200": {"bf16": 989e12, "fp16": 989e12, "fp32": 67e12},
              "A100": {"bf16": 312e12, "fp16": 312e12, "fp32": 19.5e12}}


class TimedBatches:
    """Yields `warmup + steps` batches of `loader`; after the warmup it adds up the time spent
    waiting in `next()` and notes when measuring started."""

    def __init__(self, loader, warmup: int, steps: int):
        self.loader, self.warmup, self.steps = loader, warmup, steps
        self.wait_seconds, self.started = 0.0, None

    def __iter__(self):
        batches = iter(self.loader)
        for index in range(self.warmup + self.steps):
            if index == self.warmup:
                self.started = time.perf_counter()
            asked = time.perf_counter()
            try:
                batch = next(batches)
            except StopIteration:
                batches = iter(self.loader)
                batch = next(batches)
            if index >= self.warmup:
                self.wait_seconds += time.perf_counter() - asked
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


def run(options) -> dict:
    workdir = options.workdir or tempfile.mkdtemp(prefix="bench_train_step_")
    ctx = init_distributed(options.device)
    image_size = clip_architecture_config(options.model)["vision_cfg"]["image_size"]
    event_seconds = max(2, -(-options.frames // 3))  # 3 events: at least max_frames frames per video
    videos = max(22, options.batch_size * (options.warmup + options.steps + 1))
    data = make_synthetic_dataset(os.path.join(workdir, f"data_{image_size}px"), train_videos=videos + videos % 2,
                                  val_videos=0, test_videos=2, captions_per_video=1, size=image_size,
                                  event_seconds=event_seconds, min_events=3, max_events=3, fps=2, seed=0)
    frames_dir = os.path.join(workdir, f"frames_{image_size}px")
    extract_frames(data["videos_dir"], frames_dir, fps=1, short_side=image_size, workers=os.cpu_count())
    args = get_args([
        "--do_train", "--data_path", data["annotations_dir"], "--features_path", frames_dir,
        "--output_dir", os.path.join(workdir, "run"), "--pretrained_clip_name", options.model,
        "--sim_header", options.head, "--max_frames", str(options.frames), "--batch_size", str(options.batch_size),
        "--num_thread_reader", str(options.workers), "--precision", options.precision, "--device", options.device,
        "--lr", "1e-4", "--coef_lr", "1e-3"])
    torch.manual_seed(0)
    model = build_model(args, ctx.device)
    source = open_video_source(args.features_path)
    splits = {name: source.restrict(split) for name, split in load_retrieval_splits("msrvtt", args.data_path).items()}
    os.makedirs(args.output_dir, exist_ok=True)  # the per-step log
    trainer = Trainer(args, model, splits, source, CaptionTokenizer(args.max_words), ctx, config={})
    loader = trainer.loader
    trainer.loader = batches = TimedBatches(loader, options.warmup, options.steps)
    trainer.train_epoch()
    if ctx.device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - batches.started
    clips_per_s = options.steps * options.batch_size / elapsed
    flops = flops_per_clip(model, next(iter(loader)), ctx.device)
    card, peak = peak_flops(ctx.device, options.precision)
    return {
        "model": options.model, "head": options.head, "device": card or cpu_name(),
        "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": str(torch.__version__),
        "precision": options.precision, "batch_size": options.batch_size, "frames": options.frames,
        "image_size": image_size, "workers": options.workers, "steps": options.steps,
        "clips_per_s": round(clips_per_s, 2), "step_seconds": round(elapsed / options.steps, 4),
        "data_wait_share": round(batches.wait_seconds / elapsed, 4),
        "flops_per_clip": flops, "mfu": round(flops * clips_per_s / peak, 4) if peak else None,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="CLIP architecture (tiny, small, ViT-B-32, ...), random init")
    parser.add_argument("--head", default="dllfa")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20, help="measured steps")
    parser.add_argument("--warmup", type=int, default=3, help="steps run before measuring")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers")
    parser.add_argument("--precision", choices=sorted(PRECISIONS), default="fp32")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--workdir", help="keep the generated data here (default: a new temporary folder)")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    result = run(options)
    if options.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>16}: {value}")


if __name__ == "__main__":
    main()
