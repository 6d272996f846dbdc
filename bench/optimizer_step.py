"""Benchmark (not a test): how far each optimizer recipe moves CLIP per step, at ViT-B/32 size.

    python -m bench.optimizer_step [--steps 100] [--lrs 1e-7,1e-6,1e-5] [--stride 1024] [--json]

1. Gradient statistics, measured: one training step of ViT-B/32 (open_clip's random init, no
   pretrained weights here) with the meanP head and the symmetric InfoNCE loss, on `--clips`
   clips of `--frames` frames of random pixels and random captions, in fp32, CLIP4Clip's
   trainable set (`--freeze_layer_num 0`), then the training loop's global clip to norm 1. Kept:
   each CLIP tensor's gradient rms.
2. Every trainable CLIP tensor, subsampled (every `--stride`-th weight, the same share of every
   tensor, so that averages weigh tensors by their size), is trained for
   `--steps` steps at a constant CLIP learning rate by each recipe's own optimizer and weight
   decay groups (modules/optimization.py RECIPES): BertAdam on CLIP4Clip's fp16 weights (and
   fp16 gradients), BertAdam on fp32 weights, this repository's AdamW (b2 0.98) and X-Pool's
   (b2 0.999). Gradients: fresh Gaussian noise every step with each tensor's measured rms, or
   with one rms for every tensor (the 1e-3 and 1e-4 rows).
3. Printed: the mean |weight change| per step, averaged over the steps and the elements.
Subsampling changes nothing but the noise of the average: the updates are elementwise. BertAdam's
per-parameter clip is left out: after the global clip every tensor's norm is below 1 and it does
nothing, here as in CLIP4Clip (the uniform-rms rows are hypothetical gradients as the optimizer
sees them; after the global clip, no model this size has rms 1e-3 everywhere).
"""
import argparse
import json
import time
from typing import Dict, List

import torch

from modules.clip_backbone import ClipBackbone
from modules.clip_fp16 import convert_clip_to_fp16
from modules.optimization import RECIPES, freeze_clip_layers
from modules.retrieval_heads import build_head
from modules.retrieval_model import RetrievalModel

# column -> (recipe whose optimizer and decay groups are used, weights in fp16)
MODES = {"bertadam_fp16": ("clip4clip", True), "bertadam_fp32": ("clip4clip", False),
         "adamw": ("adamw", False), "xpool": ("xpool", False)}
EOT = 49407  # CLIP's end-of-text token, the largest id


def measure_gradients(clips: int, frames: int, words: int, seed: int) -> Dict[str, object]:
    """Per-tensor gradient rms of one ViT-B/32 step (random weights and inputs), after the global clip."""
    torch.manual_seed(seed)
    backbone = ClipBackbone("ViT-B/32")
    model = RetrievalModel(backbone, build_head("meanP", backbone.embed_dim, frames))
    freeze_clip_layers(backbone.clip, 0)
    video = torch.randint(0, 256, (clips, frames, 3, backbone.image_size, backbone.image_size), dtype=torch.uint8)
    tokens = torch.zeros(clips, 32, dtype=torch.long)
    tokens[:, 0], tokens[:, 1:words - 1], tokens[:, words - 1] = EOT - 1, torch.randint(1, EOT - 1, (clips, words - 2)), EOT
    started = time.perf_counter()
    model(tokens, video, torch.ones(clips, frames)).backward()
    seconds = time.perf_counter() - started
    norm_before = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
    clip = backbone.clip
    weights = {name: p.detach().clone() for name, p in clip.named_parameters() if p.requires_grad}
    rms = {name: float(p.grad.pow(2).mean().sqrt()) for name, p in clip.named_parameters() if p.requires_grad}
    convert_clip_to_fp16(clip)
    half = {name for name, p in clip.named_parameters() if p.requires_grad and p.dtype == torch.float16}
    return {"weights": weights, "rms": rms, "half": half, "norm_before_clip": norm_before,
            "backward_seconds": seconds}


def subsample(tensor: torch.Tensor, stride: int) -> torch.Tensor:
    return tensor.reshape(-1)[::stride]


def mean_step(mode: str, measured: Dict[str, object], grad_rms: Dict[str, float], lr: float, steps: int,
              stride: int, seed: int) -> Dict[str, float]:
    """Mean |w_{t+1} - w_t| over `steps` steps and all sampled elements, and the share of elements
    that never moved. The samples of all tensors that share a dtype and a weight decay are trained as
    one flat tensor (the updates are elementwise)."""
    recipe_name, fp16 = MODES[mode]
    recipe = RECIPES[recipe_name]
    flat: Dict[tuple, tuple] = {}  # (fp16, decay) -> ([weights], [gradient rms])
    for name, weight in measured["weights"].items():
        key = (fp16 and name in measured["half"], not recipe.no_weight_decay(name, weight))
        sample = subsample(weight, stride)
        flat.setdefault(key, ([], []))[0].append(sample)
        flat[key][1].append(torch.full_like(sample, grad_rms[name]))
    params, scales, groups = [], [], []
    for (half, decay), (samples, rms) in flat.items():
        parameter = torch.nn.Parameter(torch.cat(samples).to(torch.float16 if half else torch.float32))
        params.append(parameter)
        scales.append(torch.cat(rms))
        groups.append({"params": [parameter], "lr": lr, "weight_decay": 0.2 if decay else 0.0})
    optimizer = recipe.make_optimizer(groups, 0.0)  # no per-parameter clip: a no-op after the global clip
    generator = torch.Generator().manual_seed(seed)
    total_elements = sum(p.numel() for p in params)
    start = [p.detach().to(torch.float32, copy=True) for p in params]
    moved = 0.0
    for _ in range(steps):
        for parameter, scale in zip(params, scales):
            noise = torch.randn(parameter.shape, generator=generator) * scale
            parameter.grad = noise.to(parameter.dtype)  # fp16 weights get fp16 gradients, as in CLIP4Clip
        before = [p.detach().to(torch.float32, copy=True) for p in params]
        optimizer.step()
        moved += sum(float((p.detach().float() - b).abs().sum()) for p, b in zip(params, before)) / total_elements
    unchanged = sum(int((p.detach().float() == s).sum()) for p, s in zip(params, start)) / total_elements
    return {"step": moved / steps, "unchanged": unchanged}


def run(steps: int, lrs: List[float], stride: int, clips: int, frames: int, seed: int) -> Dict[str, object]:
    started = time.perf_counter()
    measured = measure_gradients(clips, frames, words=20, seed=seed)
    rms_values = sorted(measured["rms"].values())
    gradient_settings = {"measured": measured["rms"], "1e-3": dict.fromkeys(measured["rms"], 1e-3),
                         "1e-4": dict.fromkeys(measured["rms"], 1e-4)}
    rows = []
    for setting, grad_rms in gradient_settings.items():
        for lr in lrs:
            rows.append({"gradients": setting, "lr": lr,
                         **{mode: mean_step(mode, measured, grad_rms, lr, steps, stride, seed) for mode in MODES}})
    sampled = sum(subsample(w, stride).numel() for w in measured["weights"].values())
    return {"steps": steps, "stride": stride, "clips": clips, "frames": frames, "rows": rows,
            "tensors": len(measured["rms"]), "fp16_tensors": len(measured["half"]),
            "trainable_elements": sum(w.numel() for w in measured["weights"].values()), "sampled_elements": sampled,
            "norm_before_clip": measured["norm_before_clip"], "backward_seconds": measured["backward_seconds"],
            "rms_min": rms_values[0], "rms_median": rms_values[len(rms_values) // 2], "rms_max": rms_values[-1],
            "seconds": time.perf_counter() - started}


def _number(value: float) -> str:
    return f"{value:.1e}".replace("e-0", "e-").replace("e+0", "e")


def markdown(result: Dict[str, object]) -> str:
    lines = [f"Mean |weight change| per step of CLIP ViT-B/32 over {result['steps']} steps at a constant CLIP learning "
             f"rate (`python -m bench.optimizer_step`; every {result['stride']}th weight of each of its "
             f"{result['tensors']} trainable tensors (`--freeze_layer_num 0`), {result['sampled_elements']:,} of {result['trainable_elements']:,} "
             "weights). Gradients: Gaussian, each tensor with its rms *measured* on one ViT-B/32 training step "
             f"(random init, {result['clips']} clips x {result['frames']} frames of random pixels; norm "
             f"{result['norm_before_clip']:.1f} clipped to 1; per-tensor rms {_number(result['rms_min'])} to "
             f"{_number(result['rms_max'])}, median {_number(result['rms_median'])}), or one rms for all.", "",
             "| gradients | CLIP lr | BertAdam, fp16 weights (`clip4clip`) | BertAdam, fp32 weights | AdamW b2 0.98 "
             "(`adamw`) | AdamW b2 0.999 (`xpool`) | fp16 / fp32 BertAdam | weights never moved in the fp16 run |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["rows"]:
        fp16, fp32 = row["bertadam_fp16"], row["bertadam_fp32"]
        lines.append(f"| {row['gradients']} | {_number(row['lr'])} | " + " | ".join(
            _number(row[mode]["step"]) for mode in MODES) +
            f" | {fp16['step'] / fp32['step']:.1f}x | {100 * fp16['unchanged']:.0f}% |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lrs", default="1e-7,1e-6,1e-5", help="CLIP learning rates (CLIP4Clip's is 1e-7, X-Pool's 1e-6)")
    parser.add_argument("--stride", type=int, default=1024, help="keep every n-th weight of each tensor")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.steps, [float(x) for x in args.lrs.split(",")], args.stride, args.clips, args.frames,
                 args.seed)
    print(json.dumps(result) if args.json else markdown(result))


if __name__ == "__main__":
    main()
