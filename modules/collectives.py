"""The collectives the loss and the evaluation need, all the identity in one process (world
size 1, no process group):

- `gather_with_grad`: training features (the same [B_local, ...] on every rank), differentiable,
  with the gradient scale of `--reference_gpus` (1: the true gradient);
- `gather_fixed`: tensors of the same shape on every rank (training masks): no length exchange,
  nothing read on the host;
- `gather_uneven`: per-rank tensors of different lengths, empty included (evaluation shards);
  it reads every rank's length on the host;
- `failing_together`: a phase of local work after which every rank learns whether another one
  failed, instead of waiting for it in the next collective.
"""
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
import torch.distributed as dist

from modules.errors import InputError


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _all_gather(tensor: torch.Tensor) -> torch.Tensor:
    """[N, ...] on every rank (same shape) -> [N * world, ...] in rank order."""
    out = tensor.new_empty((dist.get_world_size() * tensor.shape[0], *tensor.shape[1:]))
    dist.all_gather_single(out, tensor.contiguous())
    return out


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward keeps this rank's slice of its own gradient, times `scale`.

    Every rank computes the same loss L from the gathered features (up to rounding), so the
    slice is dL/dx_local and the backward needs no collective; DDP then averages the parameter
    gradients over the W ranks. With scale = W / R the parameters before the gather get
    (1/W) sum_r (W/R) dL/dx_r dx_r/dtheta = dL/dtheta / R: the true gradient for R = 1, and
    CLIP4Clip's for R GPUs (its AllGather returns the plain slice, scale 1, with R = W).
    Parameters after the gather (the logit scale, attention levels) see the whole loss on
    every rank and keep the true gradient, as in CLIP4Clip."""

    @staticmethod
    def forward(ctx, tensor, scale):
        ctx.rank, ctx.batch, ctx.scale = dist.get_rank(), tensor.shape[0], scale
        return _all_gather(tensor)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.rank * ctx.batch:(ctx.rank + 1) * ctx.batch] * ctx.scale, None


class _ScaleGradient(torch.autograd.Function):
    """Identity forward; the gradient times `scale` (the gather of a single process)."""

    @staticmethod
    def forward(ctx, tensor, scale):
        ctx.scale = scale
        return tensor.view_as(tensor)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def gather_with_grad(tensor: torch.Tensor, reference_processes: int = 1) -> torch.Tensor:
    """[B_local, ...] -> [B_local * world, ...] in rank order (same B_local on every rank). The
    parameters that produced `tensor` get the global loss's gradient / `reference_processes`
    whatever the number of processes (1: the true gradient; R: CLIP4Clip's on R GPUs)."""
    world = dist.get_world_size() if is_distributed() else 1
    scale = world / reference_processes
    if world > 1:
        return _GatherWithGrad.apply(tensor, scale)
    return tensor if scale == 1 else _ScaleGradient.apply(tensor, scale)


def gather_fixed(tensor: torch.Tensor) -> torch.Tensor:
    """[N, ...] with the same shape on every rank -> [N * world, ...] in rank order (no grad)."""
    if not is_distributed():
        return tensor
    if tensor.dtype == torch.bool:  # not every backend gathers bool
        return _all_gather(tensor.to(torch.uint8)).bool()
    return _all_gather(tensor)


def gather_uneven(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate per-rank tensors of different lengths along dim 0 (zero included), in rank
    order (no grad). The other dimensions and the dtype must agree on every rank."""
    if not is_distributed():
        return tensor
    if tensor.dtype == torch.bool:
        return gather_uneven(tensor.to(torch.uint8)).bool()
    lengths = gather_fixed(torch.tensor([tensor.shape[0]], device=tensor.device)).tolist()  # one host sync
    padded = tensor.new_zeros((max(lengths), *tensor.shape[1:]))
    padded[:tensor.shape[0]] = tensor
    parts = _all_gather(padded).split(max(lengths))
    return torch.cat([part[:n] for part, n in zip(parts, lengths)])


class PeerFailed(RuntimeError):
    """Another process failed in a phase that every process runs; the message is its own."""


def _collective_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


@contextmanager
def failing_together(phase: str) -> Iterator[None]:
    """Run one phase of local work (no collective inside it) so that a failure on any rank stops
    every rank: at its end the ranks exchange one ok/failed flag each. If one failed, it raises
    its own exception and every other rank raises that rank's message (an InputError if the
    failure was one, so every process exits with status 2; else PeerFailed) instead of waiting
    for the failed rank in the next collective until the timeout. One process: plain."""
    if not is_distributed():
        yield
        return
    error: Optional[Exception] = None
    try:
        yield
    except Exception as caught:  # noqa: BLE001 (re-raised below, on this rank and as a message on the others)
        error = caught
    device = _collective_device()
    failed = gather_fixed(torch.tensor([error is not None], device=device)).nonzero()[:, 0].tolist()  # host sync
    if not failed:
        return
    first = failed[0]  # its message goes to everyone: its length, then its bytes
    text = f"{type(error).__name__}\n{error}".encode() if error is not None else b""
    size = torch.tensor([len(text)], device=device)
    dist.broadcast(size, first)
    buffer = torch.tensor(list(text), dtype=torch.uint8, device=device) if dist.get_rank() == first \
        else torch.zeros(int(size.item()), dtype=torch.uint8, device=device)
    dist.broadcast(buffer, first)
    if error is not None:
        raise error
    kind, message = bytes(buffer.tolist()).decode().split("\n", 1)
    if kind == InputError.__name__:
        raise InputError(f"process {first} failed {phase}: {message}")
    raise PeerFailed(f"process {first} failed {phase}: {kind}: {message}")
