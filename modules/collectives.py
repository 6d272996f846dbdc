"""The collectives the loss and the evaluation need: a gather that carries the gradient back, a
plain gather for tensors of the same shape on every rank (training batches: no length exchange,
no host read), and a gather of per-rank tensors of different lengths (evaluation shards). All
are the identity in one process (world size 1, no process group).
"""
import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _all_gather(tensor: torch.Tensor) -> torch.Tensor:
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sums the gradient over ranks and keeps the local slice.

    Every rank computes the same global loss from the gathered features, so the gradient of
    the local features is the sum of what every rank's copy of the loss sends back.
    """

    @staticmethod
    def forward(ctx, tensor):
        ctx.rank, ctx.batch = dist.get_rank(), tensor.shape[0]
        return _all_gather(tensor)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.batch:(ctx.rank + 1) * ctx.batch]


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """[B_local, ...] -> [B_local * world, ...] in rank order (same B_local on every rank)."""
    return _GatherWithGrad.apply(tensor) if is_distributed() else tensor


def gather_fixed(tensor: torch.Tensor) -> torch.Tensor:
    """[B_local, ...] -> [B_local * world, ...] in rank order, no gradient (same shape on every rank)."""
    if not is_distributed():
        return tensor
    if tensor.dtype == torch.bool:  # not every backend gathers bool
        return _all_gather(tensor.to(torch.uint8)).bool()
    return _all_gather(tensor)


def gather_uneven(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate per-rank tensors of different lengths along dim 0, in rank order (no grad)."""
    if not is_distributed():
        return tensor
    if tensor.dtype == torch.bool:  # not every backend gathers bool
        return gather_uneven(tensor.to(torch.uint8)).bool()
    length = torch.tensor([tensor.shape[0]], device=tensor.device)
    lengths = [torch.zeros_like(length) for _ in range(dist.get_world_size())]
    dist.all_gather(lengths, length)
    longest = int(max(lengths).item())
    padded = tensor.new_zeros((longest, *tensor.shape[1:]))
    padded[:tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in lengths]
    dist.all_gather(parts, padded.contiguous())
    return torch.cat([part[:int(n.item())] for part, n in zip(parts, lengths)])

