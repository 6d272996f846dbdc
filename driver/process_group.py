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


def visible_device_index(local_rank: int, device_count: int) -> int:
    """The CUDA device of a process among those it sees: its local rank when it sees every GPU
    of the node, 0 when a scheduler shows each process only its own GPU."""
    return local_rank % device_count


def init_distributed(device: str = "auto") -> DistributedContext:
    """Join the torchrun job if launched by torchrun, else run as a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda:
        target = torch.device("cuda", visible_device_index(local_rank, torch.cuda.device_count()))
        torch.cuda.set_device(target)
    else:
        target = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        # device_id: NCCL's communicator is made for this GPU at once, and barrier() knows its device
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=timedelta(minutes=30),
                                device_id=target if use_cuda else None)
    return DistributedContext(rank, world_size, local_rank, target)


def shard_range(total: int, rank: int, world_size: int) -> range:
    """The contiguous share of `total` items that `rank` handles in evaluation (empty when there
    are more ranks than items left)."""
    per_rank = -(-total // world_size)
    return range(min(total, rank * per_rank), min(total, (rank + 1) * per_rank))
