"""Backend settings of a run on a GPU; nothing changes on the CPU.

- `--tf32 on` (the default): fp32 matrix products and convolutions of CLIP and the temporal
  encoder in TF32 on GPUs that have it (Ampere and later: 10 mantissa bits on input, fp32
  accumulation, several times the fp32 rate). It matters for the fp32 recipes (adamw, xpool);
  under clip4clip CLIP runs in fp16 and under --precision bf16/fp16 autocast already chose.
  The heads' own products (pooling, attention, cosines) run in full fp32 whatever this says
  (modules/head_base.py, full_precision_matmuls), so the scores are exact cosines of the
  features they get.
- cuDNN's autotuner (`cudnn.benchmark`) in training runs, whose batches all have one shape: each
  new input shape is timed once, then the fastest kernel is reused. Evaluation adds one or two
  shapes per split (the last batch). Eval-only runs keep it off.
Neither is deterministic across runs or GPUs (nor are the GPU kernels without them): a resumed
run continues the same plan, but only on the CPU are its numbers bit-for-bit the uninterrupted run's.
"""
from typing import Dict

import torch


def gpu_settings(device: torch.device, tf32: bool, training: bool) -> Dict[str, object]:
    """{setting: value} for a run on `device`; empty on the CPU."""
    if device.type != "cuda":
        return {}
    precision = "tf32" if tf32 else "ieee"
    return {"cuda.matmul.fp32_precision": precision, "cudnn.conv.fp32_precision": precision,
            "cudnn.benchmark": training}


def apply_gpu_settings(device: torch.device, tf32: bool, training: bool) -> Dict[str, object]:
    """Set `gpu_settings` on torch.backends; return them (for the log)."""
    settings = gpu_settings(device, tf32, training)
    for name, value in settings.items():
        *path, attribute = name.split(".")
        target = torch.backends
        for part in path:
            target = getattr(target, part)
        setattr(target, attribute, value)
    return settings
