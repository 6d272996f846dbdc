"""BertAdam against an independent NumPy re-implementation of CLIP4Clip's published update
(ArrowLuo/CLIP4Clip modules/optimization.py:103-168, warmup_cosine at :26-29), bit for bit,
on fp16 and fp32 weights, in the fp16 underflow regime too.

The reference's rounding model: every operation of the published update is computed exactly
(float64 here) and rounded to fp32, then to the weight's dtype; torch's `add_(g, alpha)` and
`addcmul_` are fused multiply-adds in fp32, scalars are fp32, and `max_norm / x` is
`reciprocal(x) * max_norm`, as torch evaluates it."""
import math

import numpy as np
import pytest
import torch

from modules import bert_adam
from modules.bert_adam import BertAdam
from modules.optimization import ClipWarmupCosine


def _exact(x):
    return np.asarray(x, dtype=np.float64)


def reference_bert_adam(weights, grads, lrs, dtype, b1=0.9, b2=0.98, eps=1e-6, weight_decay=0.2, max_norm=1.0):
    """CLIP4Clip's BertAdam step, op by op, from weights and grads already in `dtype`; returns
    the weights after len(grads) steps."""
    f32 = np.float32

    def rounded(x):  # fp32 arithmetic, stored in `dtype`
        return _exact(_exact(x).astype(np.float32).astype(dtype))

    p, m, v = rounded(weights), np.zeros(len(weights)), np.zeros(len(weights))
    for grad, lr in zip(grads, lrs):
        g = rounded(grad)
        norm = rounded(np.sqrt(np.sum(g ** 2)))                           # clip_grad_norm_(p, max_norm)
        coef = min(_exact(f32(_exact(f32(1.0 / rounded(norm + _exact(f32(1e-6))))) * max_norm)), 1.0)
        g = rounded(g * coef)
        m = rounded(rounded(m * _exact(f32(b1))) + _exact(f32(1 - b1)) * g)            # next_m
        v = rounded(rounded(v * _exact(f32(b2))) + _exact(f32(_exact(f32(1 - b2)) * g)) * g)  # next_v
        update = rounded(m / rounded(rounded(np.sqrt(v)) + _exact(f32(eps))))          # no bias correction
        update = rounded(update + rounded(_exact(f32(weight_decay)) * p))
        p = rounded(p - rounded(_exact(f32(lr)) * update))
    return p


def warmup_cosine(x, warmup):
    """CLIP4Clip's schedule of progress x (written from its definition, not from ours)."""
    return x / warmup if x < warmup else 0.5 * (1.0 + math.cos(math.pi * x))


def run_bert_adam(weights, grads, dtype, lr, total_steps, warmup=0.1):
    parameter = torch.nn.Parameter(torch.from_numpy(weights.astype(dtype)))
    optimizer = BertAdam([parameter], lr=lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, ClipWarmupCosine(total_steps, warmup))
    for grad in grads:
        parameter.grad = torch.from_numpy(grad.astype(dtype))
        optimizer.step()
        scheduler.step()
    return parameter.detach().numpy(), optimizer


@pytest.mark.parametrize("dtype,grad_rms", [(np.float16, 1e-2), (np.float16, 1e-3), (np.float16, 1e-4),
                                            (np.float32, 1e-2), (np.float32, 1e-4)])
def test_update_matches_the_published_algorithm_bit_for_bit(dtype, grad_rms):
    rng = np.random.default_rng(0)
    steps, size, lr = 40, 8192, 1e-4  # rms 1e-2 x sqrt(8192) ~ 0.9: the per-parameter clip engages on some steps
    weights = rng.standard_normal(size) * 0.02
    grads = [rng.standard_normal(size) * grad_rms * (1.25 if step % 3 else 1.0) for step in range(steps)]
    ours, _ = run_bert_adam(weights, grads, dtype, lr, total_steps=steps)
    lrs = [lr * warmup_cosine(step / steps, 0.1) for step in range(steps)]
    expected = reference_bert_adam(weights.astype(dtype), [g.astype(dtype) for g in grads], lrs, dtype)
    assert ours.dtype == dtype
    np.testing.assert_array_equal(ours.astype(np.float64), expected)
    assert not np.array_equal(ours, weights.astype(dtype))  # it moved


def test_fp16_second_moment_underflows_and_steps_become_lr_m_over_eps():
    """The regime the recipe lives in: (1 - b2) g^2 is below fp16's smallest subnormal, v stays 0,
    and an fp16 weight moves by about lr |m| / eps per step, far more than the same update in fp32."""
    rng = np.random.default_rng(1)
    weights, steps, lr = rng.standard_normal(4096) * 0.02, 30, 1e-6
    grads = [rng.standard_normal(4096) * 1e-4 for _ in range(steps)]
    movement = {}
    for dtype in (np.float16, np.float32):
        moved, optimizer = run_bert_adam(weights, grads, dtype, lr, total_steps=10 ** 9, warmup=0.0)  # constant rate
        movement[dtype] = np.abs(moved.astype(np.float64) - weights.astype(dtype)).mean()
        if dtype == np.float16:
            assert torch.count_nonzero(next(iter(optimizer.state.values()))["exp_avg_sq"]) == 0
    assert movement[np.float16] > 20 * movement[np.float32]


def test_state_keeps_the_weight_dtype_and_survives_a_weights_only_round_trip(tmp_path):
    parameter = torch.nn.Parameter(torch.randn(8).half())
    optimizer = BertAdam([parameter], lr=1e-3)
    parameter.grad = torch.randn(8).half()
    optimizer.step()
    state = optimizer.state[parameter]
    assert state["exp_avg"].dtype == state["exp_avg_sq"].dtype == torch.float16
    torch.save(optimizer.state_dict(), tmp_path / "optimizer.pt")
    restored = BertAdam([torch.nn.Parameter(parameter.detach().clone())], lr=1e-3)
    restored.load_state_dict(torch.load(tmp_path / "optimizer.pt", weights_only=True))
    assert torch.equal(next(iter(restored.state.values()))["exp_avg"], state["exp_avg"])


def _mixed_parameters(seed: int):
    """fp16 and fp32 tensors of several shapes, gradients from 1e-5 (the fp16 underflow) to 3 (clipped)."""
    generator = torch.Generator().manual_seed(seed)
    shapes = [(64, 48), (48,), (3, 8, 8), (1,), (200,), (16, 16)]
    params, scales = [], []
    for index, shape in enumerate(shapes * 2):
        dtype = torch.float16 if index % 2 == 0 else torch.float32
        params.append(torch.nn.Parameter((torch.randn(shape, generator=generator) * 0.02).to(dtype)))
        scales.append([1e-5, 1e-3, 0.05, 3.0][index % 4])
    return params, scales, generator


def _train_mixed(kind, steps: int = 20):
    params, scales, generator = _mixed_parameters(0)
    groups = [{"params": params[:7], "lr": 1e-3}, {"params": params[7:], "lr": 1e-4, "weight_decay": 0.0},
              {"params": [], "lr": 1e-3, "max_grad_norm": 0.0}]
    groups[2]["params"] = [groups[1]["params"].pop()]  # a group without the per-parameter clip
    optimizer = kind(groups, weight_decay=0.2, max_grad_norm=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, ClipWarmupCosine(steps, 0.2))
    for step in range(steps):
        for index, (parameter, scale) in enumerate(zip(params, scales)):
            grad = torch.randn(parameter.shape, generator=generator) * scale
            parameter.grad = None if (step + index) % 7 == 0 else grad.to(parameter.dtype)  # some skip a step
        optimizer.step()
        scheduler.step()
    return params, optimizer


def test_list_step_equals_the_per_tensor_rule_bit_for_bit(monkeypatch):
    """BertAdam's operations over lists of tensors against the same rule applied tensor by tensor
    (bench/optimizer_time.py's PerTensorBertAdam), 20 steps, fp16 and fp32 weights in three groups,
    the per-parameter clip engaged and off, the warmup, fp16 underflow, lists cut into chunks."""
    from bench.optimizer_time import PerTensorBertAdam
    monkeypatch.setattr(bert_adam, "MAX_CHUNK_ELEMENTS", 1000)  # several chunks per list
    expected, reference = _train_mixed(PerTensorBertAdam)
    ours, optimizer = _train_mixed(BertAdam)
    for mine, theirs in zip(ours, expected):
        assert mine.dtype == theirs.dtype
        assert torch.equal(mine, theirs)
        for key in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(optimizer.state[mine][key], reference.state[theirs][key])
    start, _, _ = _mixed_parameters(0)
    assert all(not torch.equal(p, q) for p, q in zip(ours, start))  # every tensor moved
    half_state = [optimizer.state[p]["exp_avg_sq"] for p, s in zip(ours, _mixed_parameters(0)[1])
                  if p.dtype == torch.float16 and s == 1e-5]
    assert half_state and all(torch.count_nonzero(v) == 0 for v in half_state)  # the underflow regime is in
