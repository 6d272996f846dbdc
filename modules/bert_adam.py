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

The step runs each operation once over a list of tensors (torch._foreach_*: one dispatch, and
on a GPU a few kernel launches, for all the tensors of one group, dtype and device), not once
per tensor: ViT-B/32 has ~300 trainable tensors and ~25 operations each. The list operations
are the per-tensor rule's, in the same order with the same scalars, so the result is the same
bit for bit (tests/test_bert_adam.py against the rule written per tensor,
bench/optimizer_time.PerTensorBertAdam; bench/optimizer_time.py times both). The fp32 (and
fp64) working copies of an fp16 list are made for at most MAX_CHUNK_ELEMENTS weights at a time.
CLIP4Clip ran PyTorch 1.7.1, whose fp16 CUDA kernels may have rounded some products inside
an operation too: at most one fp16 unit per operation, which nobody here can check.

The learning rate is the group's `lr` as it stands: CLIP4Clip's schedule (warmup_cosine,
computed inside its step from the step count) is applied here by a LambdaLR multiplier
(modules/optimization.py, ClipWarmupCosine) that gives the same rate at every step, so
that resuming works as for any torch optimizer. The state ("exp_avg", "exp_avg_sq", in
p's dtype) is plain tensors: the checkpoint (weights_only=True) stores it as is.
"""
from typing import Callable, Dict, Iterator, List

import torch
from torch.optim import Optimizer

CLIP_NORM_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_'s guard, which CLIP4Clip calls per parameter
MAX_CHUNK_ELEMENTS = 2 ** 24  # weights per list operation: ~0.5 GB of fp32/fp64 working copies at most

Tensors = List[torch.Tensor]


class BertAdam(Optimizer):
    """Defaults: CLIP4Clip's (--lr 1e-4, main_task_retrieval.py:37; the rest :209-212)."""

    def __init__(self, params, lr: float = 1e-4, betas=(0.9, 0.98), eps: float = 1e-6,
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
            lists: Dict[tuple, Tensors] = {}
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("BertAdam does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                lists.setdefault((p.device, p.dtype), []).append(p)
            for params in lists.values():
                for chunk in _chunks(params, MAX_CHUNK_ELEMENTS):
                    self._update(chunk, group)
        return loss

    def _update(self, params: Tensors, group: dict) -> None:
        """One step for tensors of one dtype and device. Each operation computes in fp32 and
        rounds to the weights' dtype (`r`), the semantics of PyTorch's CUDA kernels for fp16
        tensors ("opmath"), made explicit so that the CPU, whose fp16 kernels round some scalars
        to fp16 first, computes the same."""
        dtype = params[0].dtype
        beta1, beta2 = group["betas"]
        m = [self.state[p]["exp_avg"] for p in params]
        v = [self.state[p]["exp_avg_sq"] for p in params]
        if dtype == torch.float32:  # fp32 weights: every result is already in their dtype
            r: Callable[[Tensors], Tensors] = lambda xs: xs
            grad, m32, v32, p32 = [p.grad for p in params], m, v, params  # the state and weights change in place
        else:
            stored = [torch.empty_like(p) for p in params]

            def r(xs: Tensors) -> Tensors:
                torch._foreach_copy_(stored, xs)
                torch._foreach_copy_(xs, stored)
                return xs

            grad, m32, v32, p32 = ([x.float() for x in xs] for xs in ([p.grad for p in params], m, v, params))
        if group["max_grad_norm"] > 0:  # clip_grad_norm_(p, max_grad_norm) on each tensor alone
            norm = torch.stack(torch._foreach_norm(grad, 2, dtype=torch.float64)).float().to(dtype).float()  # [N]
            coef = (group["max_grad_norm"] / (norm + CLIP_NORM_EPS).to(dtype).float()).clamp(max=1.0)
            grad = r(torch._foreach_mul(grad, coef.unbind()))
        torch._foreach_mul_(m32, beta1)  # m <- b1 m + (1 - b1) g
        torch._foreach_add_(r(m32), grad, alpha=1 - beta1)
        r(m32)
        torch._foreach_mul_(v32, beta2)  # v <- b2 v + (1 - b2) g^2
        torch._foreach_addcmul_(r(v32), grad, grad, value=1 - beta2)
        r(v32)
        sqrt_v = [torch.empty_like(x, dtype=torch.float64) for x in v32]
        torch._foreach_copy_(sqrt_v, v32)
        torch._foreach_sqrt_(sqrt_v)  # correctly rounded (torch's CPU fp32 sqrt is not always)
        denominator = [torch.empty_like(x) for x in v32]
        torch._foreach_copy_(denominator, sqrt_v)
        torch._foreach_add_(r(denominator), group["eps"])
        update = r(torch._foreach_div(m32, r(denominator)))  # u <- m / (sqrt(v) + eps) + wd p
        if group["weight_decay"] > 0.0:
            torch._foreach_add_(update, r(torch._foreach_mul(p32, group["weight_decay"])))
            r(update)
        torch._foreach_mul_(update, group["lr"])  # p <- p - lr u
        torch._foreach_sub_(p32, r(update))
        if dtype != torch.float32:
            torch._foreach_copy_(m, m32)
            torch._foreach_copy_(v, v32)
            torch._foreach_copy_(params, p32)


def _chunks(params: Tensors, max_elements: int) -> Iterator[Tensors]:
    """Consecutive runs of `params` of at most `max_elements` weights (a larger tensor alone)."""
    chunk, size = [], 0
    for p in params:
        if chunk and size + p.numel() > max_elements:
            yield chunk
            chunk, size = [], 0
        chunk.append(p)
        size += p.numel()
    if chunk:
        yield chunk
