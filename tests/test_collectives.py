import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from modules.collectives import gather_fixed, gather_uneven, gather_with_grad


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    full = torch.randn(4, 3)
    local = full[rank * 2:(rank + 1) * 2].clone().requires_grad_(True)
    gathered = gather_with_grad(local)
    (gathered * torch.arange(12.0).view(4, 3)).square().sum().backward()
    uneven = gather_uneven(torch.full((rank + 1, 2), float(rank)))
    mask = gather_uneven(torch.tensor([True, rank == 0]))
    fixed = gather_fixed(torch.tensor([[rank == 0, True]]))
    results[rank] = (gathered.detach(), local.grad, uneven, mask, fixed)
    dist.destroy_process_group()


def test_gathers_across_two_gloo_processes():
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(_worker, args=(2, _free_port(), results), nprocs=2)
    torch.manual_seed(0)
    full = torch.randn(4, 3).requires_grad_(True)
    (full * torch.arange(12.0).view(4, 3)).square().sum().backward()
    for rank in range(2):
        gathered, grad, uneven, mask, fixed = results[rank]
        assert torch.equal(gathered, full.detach())
        # every rank computes the same loss, so the summed gradient is world_size x the local one
        assert torch.allclose(grad, 2 * full.grad[rank * 2:(rank + 1) * 2])
        assert torch.equal(uneven, torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]))
        assert torch.equal(mask, torch.tensor([True, True, True, False]))
        assert torch.equal(fixed, torch.tensor([[True, True], [False, True]]))
