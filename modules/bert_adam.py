"""BertAdam: the optimizer CLIP4Clip (and DRL, Cap4Video after it) trains with.

For a parameter p with gradient g, in p's own dtype (fp16 for CLIP's converted weights,
see modules/clip_fp16.py), one step is

    g <- g * min(1, max_grad_norm / (|g| + 1e-6))   per-parameter clipping (|g|: this tensor's norm)
    m <- b1 m + (1 - b1) g                          no bias correction, ever
    v <- b2 v + (1 - b2) g^2
    u <- m / (sqrt(v) + eps) + weight_decay p       decay added to the update, not to the gradient
    p <- p - lr u

with CLIP4Clip's b1 0.9, b2 0.98, eps 1e-6 and weight decay 0.2 (ArrowLuo/CLIP4Clip
modules/optimization.py:103-168, main_task_retrieval.py:209-212). Every operation of the
published code (a multiply, an add, a sqrt, ...) rounds its result to p's dtype, in that
order: in fp16 this is what makes the recipe what it is. `(1 - b2) g^2` underflows for |g|
below about 1.2e-3 (fp16's smallest subnormal is 6e-8), so v stays 0, sqrt(v) + eps = eps and
the step becomes lr * m / eps (100 x lr for |m| = 1e-4), where fp32 Adam steps by about lr.
And a step smaller than half a unit in the last place of p (about 4e-6 for a weight of 0.01)
is rounded away entirely. A step of the same optimizer on fp32 weights is a different recipe
(bench/optimizer_step.py measures both).

Rounding: each operation computes in fp32 (the norm and sqrt correctly rounded through
fp64) and rounds to p's dtype, which is what PyTorch's CUDA kernels do for fp16 tensors
today; tests/test_bert_adam.py checks it bit for bit against a NumPy re-implementation.
CLIP4Clip ran PyTorch 1.7.1, whose fp16 CUDA kernels may have rounded some products inside
an operation too: at most one fp16 unit per operation, which nobody here can check.

The learning rate is the group's `lr` as it stands: CLIP4Clip's schedule (warmup_cosine,
computed inside its step from the step count) is applied here by a LambdaLR multiplier
(modules/optimization.py, ClipWarmupCosine) that gives the same rate at every step, so
that resuming works as for any torch optimizer. The state ("exp_avg", "exp_avg_sq", in
p's dtype) is plain tensors: the checkpoint (weights_only=True) stores it as is.
"""
from typing import Iterable

import torch
from torch.optim import Optimizer

CLIP_NORM_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_'s guard, which CLIP4Clip calls per parameter


class BertAdam(Optimizer):
    """Defaults: CLIP4Clip's (--lr 1e-4, main_task_retrieval.py:37; the rest :209-212)."""

    def __init__(self, params: Iterable, lr: float = 1e-4, betas=(0.9, 0.98), eps: float = 1e-6,
                 weight_decay: float = 0.2, max_grad_norm: float = 1.0):
        if not lr >= 0.0:
            raise ValueError(f"invalid learning rate {lr}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"invalid betas {betas}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, max_grad_norm=max_grad_norm)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("BertAdam does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                self._update(p, state["exp_avg"], state["exp_avg_sq"], group)
        return loss

    @staticmethod
    def _update(p: torch.Tensor, m: torch.Tensor, v: torch.Tensor, group: dict) -> None:
        """One step for one tensor. Each operation computes in fp32 and rounds to p's dtype
        (`r`), the semantics of PyTorch's CUDA kernels for fp16 tensors ("opmath"), made explicit
        so that the CPU, whose fp16 kernels round some scalars to fp16 first, computes the same."""
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
