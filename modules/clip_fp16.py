"""CLIP's weights in fp16, as CLIP4Clip stores and trains them (`--optimizer clip4clip`).

CLIP4Clip calls `convert_weights` on CLIP right after building it (ArrowLuo/CLIP4Clip
modules/modeling.py:219, modules/module_clip.py:498-519). That makes fp16:
- the weight and bias of every Conv and Linear layer (the patch projection, the MLPs, the
  attention output projections),
- the attention input projections (`in_proj_weight`, `in_proj_bias`),
- the projections `proj` (vision) and `text_projection`;
and leaves fp32: the LayerNorms, the token, class and positional embeddings and
`logit_scale`. The temporal encoder and the heads are outside CLIP and stay fp32.

open_clip's `convert_weights_to_lp` converts exactly this set; CLIP4Clip's LayerNorm computes
in fp32 and returns the input's dtype (module_clip.py:215-221), which is open_clip's
`LayerNormFp32`. The forward then runs in fp16 wherever a weight is fp16: ClipBackbone casts
the pixels and the token + position sum to the weight dtype (module_clip.py:446-465), and
its outputs are cast back to fp32 for the heads (modeling.py:284, 298). There is no loss
scaling: gradients of fp16 weights are fp16, small ones flush to zero, as in CLIP4Clip.

The CPU has the fp16 kernels this needs (convolution, matrix products, attention, their
backward, elementwise ops); they are slow, so tests use the tiny CLIP.
"""
import torch
from open_clip.model import convert_weights_to_lp
from open_clip.transformer import LayerNorm, LayerNormFp32
from torch import nn


def convert_clip_to_fp16(clip: nn.Module) -> int:
    """Convert `clip` (an open_clip CLIP) in place; return the number of fp16 tensors."""
    convert_weights_to_lp(clip, dtype=torch.float16)
    for module in clip.modules():
        if type(module) is LayerNorm:  # same parameters, forward in fp32
            module.__class__ = LayerNormFp32
    return sum(1 for p in clip.parameters() if p.dtype == torch.float16)
