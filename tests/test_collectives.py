import os
import socket

import pytest

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from modules.collectives import PeerFailed, failing_together, gather_fixed, gather_uneven, gather_with_grad
from modules.errors import InputError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _loss(gathered):
    return (gathered * torch.arange(12.0).view(4, 3)).square().sum()


def _phase_outcome(rank, failing_rank, error):
    try:
        with failing_together("in the test phase"):
            if rank == failing_rank:
                raise error
        return "ok"
    except (InputError, PeerFailed, ValueError) as caught:
        return f"{type(caught).__name__}: {caught}"


def _worker(rank, world, port, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    full = torch.randn(4, 3)
    grads = {}
    for reference in (1, 4):
        local = full[rank * 2:(rank + 1) * 2].clone().requires_grad_(True)
        gathered = gather_with_grad(local, reference)
        _loss(gathered).backward()
        grads[reference] = local.grad
    uneven = gather_uneven(torch.full((rank + 1, 2), float(rank)))
    empty = gather_uneven(torch.ones((2 if rank == 0 else 0, 3, 5)))  # rank 1's shard is empty
    mask = gather_uneven(torch.tensor([True, rank == 0]))
    fixed = gather_fixed(torch.tensor([[rank == 1, True]]))
    outcomes = [_phase_outcome(rank, None, None), _phase_outcome(rank, 1, InputError("frames.avi: unreadable")),
                _phase_outcome(rank, 0, ValueError("boom"))]
    results[rank] = (gathered.detach(), grads, uneven, empty, mask, fixed, outcomes)
    dist.destroy_process_group()


@pytest.mark.slow
def test_gathers_across_two_gloo_processes():
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(_worker, args=(2, _free_port(), results), nprocs=2)
    torch.manual_seed(0)
    full = torch.randn(4, 3).requires_grad_(True)
    _loss(full).backward()
    for rank in range(2):
        gathered, grads, uneven, empty, mask, fixed, outcomes = results[rank]
        assert torch.equal(gathered, full.detach())
        # every rank computes the same loss; DDP averages the parameter gradients over the 2 ranks, so the
        # true gradient needs 2x the local one, CLIP4Clip's on 4 GPUs 2/4 of it
        local_true = full.grad[rank * 2:(rank + 1) * 2]
        torch.testing.assert_close(grads[1], 2 * local_true)
        torch.testing.assert_close(grads[4], 2 / 4 * local_true)
        assert torch.equal(uneven, torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]))
        assert torch.equal(empty, torch.ones(2, 3, 5))
        assert torch.equal(mask, torch.tensor([True, True, True, False]))
        assert torch.equal(fixed, torch.tensor([[False, True], [True, True]]))
        assert outcomes[0] == "ok"
    # the failed rank raises its own exception, the other its message, as an InputError if it was one
    assert results[1][6][1] == "InputError: frames.avi: unreadable"
    assert results[0][6][1] == "InputError: process 1 failed in the test phase: frames.avi: unreadable"
    assert results[0][6][2] == "ValueError: boom"
    assert results[1][6][2] == "PeerFailed: process 0 failed in the test phase: ValueError: boom"


def test_one_process_scales_the_gradient_by_the_reference_count():
    x = torch.randn(4, 3, requires_grad=True)
    assert gather_with_grad(x) is x
    _loss(gather_with_grad(x, 4)).backward()
    scaled = x.grad.clone()
    x.grad = None
    _loss(x).backward()
    torch.testing.assert_close(scaled, x.grad / 4)
