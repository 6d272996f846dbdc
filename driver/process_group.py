"""The process group of a job: one plain process (world size 1, no process group) or a
`torchrun` job (env:// rendezvous; NCCL on GPU, gloo on CPU), and each rank's share of the
evaluation items.
"""
import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist


DEVICES = ("auto", "cuda", "cpu")  # auto: CUDA when there is a GPU


@dataclass
class DistributedContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str = "auto") -> DistributedContext:
    """Join the torchrun job if launched by torchrun, else run as a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda:
        torch.cuda.set_device(local_rank)
        target = torch.device("cuda", local_rank)
    else:
        target = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=timedelta(minutes=30))
    return DistributedContext(rank, world_size, local_rank, target)


def shard_range(total: int, rank: int, world_size: int) -> range:
    """The contiguous share of `total` items that `rank` handles in evaluation."""
    per_rank = -(-total // world_size)
    return range(min(total, rank * per_rank), min(total, (rank + 1) * per_rank))
