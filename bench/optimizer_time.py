"""Benchmark (not a test): BertAdam's time per step at ViT-B/32 size, per tensor and over lists.

    python -m bench.optimizer_time [--steps 20] [--clips 2] [--frames 4] [--json]

The model is the clip4clip recipe's (`--optimizer clip4clip --freeze_layer_num 0`, the launchers'):
open_clip ViT-B-32 with random weights stored in fp16 (modules/clip_fp16.py), the dllfa head in
fp32, BertAdam with CLIP4Clip's parameter groups and warmup_cosine schedule over `--steps`. One
forward + backward of `--clips` clips x `--frames` frames (random pixels and captions) gives the
gradients (after the training loop's global clip to norm 1); step k trains on them times
1 + k / steps, so that every step differs.

Timed, each over `--steps` steps from the same weights:
- before: the BertAdam rule written per tensor (`PerTensorBertAdam`: ~25 operations per tensor,
  each one dispatch; also the reference tests/test_bert_adam.py checks BertAdam against);
- after: BertAdam itself (modules/bert_adam.py: the same operations over lists of tensors).
Both are printed as seconds per step and as a ratio to the forward + backward time of the small
batch on the same machine. The weights after the last step must be equal bit for bit; the count
of differing tensors is printed. On a CPU the elementwise work over ~150M weights dominates both;
the `overhead` rows time the same ~300 tensors at one weight each: the per-step cost that does
not shrink with a faster device (Python, dispatch, and per-tensor kernel launches on a GPU).
"""
import argparse
import datetime
import json
import tempfile
import time
from typing import Dict, List

import torch

from bench.machine import cpu_name
from driver.flags import get_args
from driver.model_setup import build_model
from modules.bert_adam import CLIP_NORM_EPS, BertAdam
from modules.optimization import build_optimizer

EOT = 49407  # CLIP's end-of-text token, the largest id


class PerTensorBertAdam(BertAdam):
    """BertAdam's rule applied one tensor at a time, every operation computed in fp32 and rounded
    to the weight's dtype (`r`), in the order modules/bert_adam.py documents."""

    def _update(self, params: List[torch.Tensor], group: dict) -> None:
        for p in params:
            state = self.state[p]
            self._update_one(p, state["exp_avg"], state["exp_avg_sq"], group)

    @staticmethod
    def _update_one(p: torch.Tensor, m: torch.Tensor, v: torch.Tensor, group: dict) -> None:
        def r(x: torch.Tensor) -> torch.Tensor:
            return x.to(p.dtype).float()  # identity for fp32 tensors

        beta1, beta2 = group["betas"]
        grad = p.grad.float()
        if group["max_grad_norm"] > 0:  # clip_grad_norm_(p, max_grad_norm) on this tensor alone
            norm = r(torch.linalg.vector_norm(grad, dtype=torch.float64).float())
            grad = r(grad * (group["max_grad_norm"] / r(norm + CLIP_NORM_EPS)).clamp(max=1.0))
        m32 = r(torch.add(r(m.float() * beta1), grad, alpha=1 - beta1))
        v32 = r(torch.addcmul(r(v.float() * beta2), grad, grad, value=1 - beta2))
        sqrt_v = r(v32.double().sqrt().float())  # correctly rounded (torch's CPU fp32 sqrt is not always)
        update = r(m32 / r(sqrt_v + group["eps"]))
        p32 = p.float()
        if group["weight_decay"] > 0.0:
            update = r(update + r(group["weight_decay"] * p32))
        m.copy_(m32)
        v.copy_(v32)
        p.copy_(p32 - r(group["lr"] * update))


def recipe_model(clips: int, frames: int, words: int, workdir: str):
    """The clip4clip recipe's model on the CPU and one batch of random inputs."""
    args = get_args(["--do_train", "--data_path", workdir, "--features_path", workdir, "--output_dir", workdir,
                     "--pretrained_clip_name", "ViT-B-32", "--sim_header", "dllfa", "--optimizer", "clip4clip",
                     "--freeze_layer_num", "0", "--max_frames", str(frames), "--max_words", str(words),
                     "--device", "cpu"])
    torch.manual_seed(0)
    model = build_model(args, torch.device("cpu"))
    size = model.backbone.image_size
    video = torch.randint(0, 256, (clips, frames, 3, size, size), dtype=torch.uint8)
    tokens = torch.zeros(clips, words, dtype=torch.long)
    tokens[:, 0], tokens[:, 1:words - 1], tokens[:, words - 1] = EOT - 1, torch.randint(1, EOT - 1, (clips, words - 2)), EOT
    return args, model, (tokens, video, torch.ones(clips, frames))


def forward_backward_seconds(model, batch, repeats: int) -> float:
    """Median wall time of forward + backward (the gradients of the last one stay)."""
    times = []
    for _ in range(repeats):
        model.zero_grad(set_to_none=True)
        started = time.perf_counter()
        model(*batch).backward()
        times.append(time.perf_counter() - started)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # the training loop's global clip
    return sorted(times)[len(times) // 2]


def train(kind, model, args, initial: Dict[str, torch.Tensor], grads: Dict[str, torch.Tensor], steps: int):
    """`steps` steps of the optimizer class `kind` from `initial`; returns (seconds per step, weights)."""
    named = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in initial.items():
            named[name].copy_(value)
    optimizer, scheduler, _ = build_optimizer(model, args.lr, args.coef_lr, args.weight_decay, steps,
                                              args.warmup_proportion, recipe="clip4clip",
                                              max_grad_norm=args.max_grad_norm)
    optimizer.__class__ = kind  # the recipe's groups and hyperparameters, the rule of `kind`
    seconds = 0.0
    for step in range(steps):
        for name, grad in grads.items():
            named[name].grad = grad * (1 + step / steps)
        started = time.perf_counter()
        optimizer.step()
        seconds += time.perf_counter() - started
        scheduler.step()
    return seconds / steps, {name: named[name].detach().clone() for name in grads}


def overhead_seconds(kind, model, steps: int) -> float:
    """Seconds per step of `kind` on the model's trainable tensors shrunk to one weight each."""
    groups = {}
    for p in model.parameters():
        if p.requires_grad:
            groups.setdefault(p.dtype, []).append(torch.nn.Parameter(torch.full((1,), 0.01, dtype=p.dtype)))
    optimizer = kind([{"params": params} for params in groups.values()], lr=1e-4)
    for params in groups.values():
        for p in params:
            p.grad = torch.full_like(p, 1e-3)
    optimizer.step()  # the state is created outside the timing
    started = time.perf_counter()
    for _ in range(steps):
        optimizer.step()
    return (time.perf_counter() - started) / steps


def run(steps: int, clips: int, frames: int, words: int, repeats: int) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        args, model, batch = recipe_model(clips, frames, words, workdir)
    fwd_bwd = forward_backward_seconds(model, batch, repeats)
    trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
    grads = {name: p.grad.detach().clone() for name, p in trainable.items() if p.grad is not None}
    initial = {name: p.detach().clone() for name, p in trainable.items()}
    before, weights_before = train(PerTensorBertAdam, model, args, initial, grads, steps)
    after, weights_after = train(BertAdam, model, args, initial, grads, steps)
    differing = [name for name in grads if not torch.equal(weights_before[name], weights_after[name])]
    moved = sum(1 for name in grads if not torch.equal(weights_after[name], initial[name]))
    overhead_before = overhead_seconds(PerTensorBertAdam, model, steps)
    overhead_after = overhead_seconds(BertAdam, model, steps)
    return {"model": "ViT-B-32 (random init, CLIP in fp16) + dllfa", "cpu": cpu_name(),
            "date": datetime.date.today().isoformat(), "clips": clips, "frames": frames,
            "words": words, "steps": steps, "torch_threads": torch.get_num_threads(), "torch": str(torch.__version__),
            "tensors": len(grads), "fp16_tensors": sum(1 for g in grads.values() if g.dtype == torch.float16),
            "weights": sum(g.numel() for g in grads.values()),
            "forward_backward_seconds": fwd_bwd, "per_tensor_seconds": before, "foreach_seconds": after,
            "per_tensor_overhead_seconds": overhead_before, "foreach_overhead_seconds": overhead_after,
            "tensors_moved": moved, "tensors_differing": len(differing), "identical": not differing,
            "seconds": time.perf_counter() - started}


def markdown(result: dict) -> str:
    fwd_bwd = result["forward_backward_seconds"]
    machine = f"{result['cpu']}, {result['date']}, " if "cpu" in result else ""  # absent from runs that did not record it
    lines = [f"**Optimizer step** (`bench/optimizer_time.py`, {machine}{result['torch_threads']} threads): BertAdam on the "
             f"clip4clip recipe's {result['tensors']} trainable tensors ({result['fp16_tensors']} fp16, "
             f"{result['weights'] / 1e6:.1f}M weights), against one forward + backward of {result['clips']} clips x "
             f"{result['frames']} frames ({fwd_bwd:.2f} s). Weights after {result['steps']} steps: "
             + ("identical bit for bit." if result["identical"] else
                f"**{result['tensors_differing']} tensors differ**."), "",
             "| rule | s/step | x forward+backward | overhead s/step (1 weight per tensor) |", "|---|---:|---:|---:|"]
    for label, key in (("per tensor (before)", "per_tensor"), ("lists of tensors, `torch._foreach_*` (after)", "foreach")):
        lines.append(f"| {label} | {result[key + '_seconds']:.3f} | {result[key + '_seconds'] / fwd_bwd:.2f} | "
                     f"{1000 * result[key + '_overhead_seconds']:.1f} ms |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--clips", type=int, default=2, help="clips of the forward + backward batch")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--words", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="forward + backward runs (the median is kept)")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    result = run(options.steps, options.clips, options.frames, options.words, options.repeats)
    print(json.dumps(result) if options.json else markdown(result))


if __name__ == "__main__":
    main()
