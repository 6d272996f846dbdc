import math

import pytest
import torch

import modules.frame_attention_pooling as fap
from bench.naive_heads import layer_norm, naive_level, unit
from modules.frame_attention_pooling import (CPU_CHUNK_BYTES, TEMPORARIES, FrameAttentionPooling, chunk_budget_bytes,
                                             plan_chunks, pooled_similarity)

DIM, FRAMES, ROWS = 16, 5, 4


def chunk_bytes(plan, rows_per_text, frames, row_width, itemsize=4):
    return itemsize * plan.texts * rows_per_text * (TEMPORARIES * plan.videos * frames + row_width)


@pytest.mark.parametrize("n_texts,rows,n_videos,frames,budget", [
    (1000, 32, 1000, 12, 12 * 2 ** 20), (15000, 33, 1500, 12, 2 ** 30), (7, 1, 3000, 12, 2 ** 20),
    (5000, 1, 9, 12, 2 ** 20), (37, 9, 53, 7, 50_000), (10, 4, 10, 3, 10 ** 9)])
def test_chunk_plan_fits_the_budget_and_uses_it(n_texts, rows, n_videos, frames, budget):
    plan = plan_chunks(n_texts, rows, n_videos, frames, 100, budget, 4)
    assert 1 <= plan.texts <= n_texts and 1 <= plan.videos <= n_videos
    assert chunk_bytes(plan, rows, frames, 100) <= budget
    # neither side can grow: it is at the end of the data or one more would exceed the budget
    grown_texts = plan._replace(texts=plan.texts + 1)
    grown_videos = plan._replace(videos=plan.videos + 1)
    assert plan.texts == n_texts or chunk_bytes(grown_texts, rows, frames, 100) > budget
    assert plan.videos == n_videos or chunk_bytes(grown_videos, rows, frames, 100) > budget


def test_chunk_plan_never_goes_below_one_text_and_one_video():
    assert plan_chunks(10, 32, 10, 12, 512, 1, 4) == (1, 1)


def test_cpu_chunks_are_capped_at_cache_size():
    assert chunk_budget_bytes(4096, torch.device("cpu")) == CPU_CHUNK_BYTES
    assert chunk_budget_bytes(0.5, torch.device("cpu")) == 0.5 * 2 ** 20
    assert chunk_budget_bytes(4096, torch.device("cuda")) == 4096 * 2 ** 20


def sharp_level(residual, seed=0, dtype=torch.float64, query_scale=5.0):
    torch.manual_seed(seed)
    level = FrameAttentionPooling(DIM, 8, residual).to(dtype)
    with torch.no_grad():
        level.query.weight.mul_(query_scale)  # peaked attention: its errors would show
        level.value.weight.add_(0.3 * torch.randn_like(level.value.weight))
        level.query_norm.weight.uniform_(0.5, 1.5)
        level.key_norm.weight.uniform_(0.5, 1.5)
    return level


def level_inputs(n_texts=6, n_videos=7, dtype=torch.float64, seed=1):
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randn(n_texts, ROWS, DIM, generator=generator, dtype=dtype)
    row_mask = torch.rand(n_texts, ROWS, generator=generator) < 0.7
    row_mask[:, 0] = True
    weights = torch.rand(n_texts, ROWS, generator=generator, dtype=dtype)
    frames = unit(torch.randn(n_videos, FRAMES, DIM, generator=generator, dtype=dtype))
    mask = torch.rand(n_videos, FRAMES, generator=generator) < 0.7
    mask[:, 0] = True
    frames = frames * mask[..., None]
    return rows * row_mask[..., None], row_mask, weights, frames, mask


def fast_level(level, rows, row_mask, weights, frames, mask, memory_mb=1024.0):
    mean = frames.sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
    return pooled_similarity(level.text_side(rows, row_mask, weights), level.video_side(frames, mean, mask),
                             memory_mb)


def reference_level(level, rows, row_mask, weights, frames, mask):
    cos = naive_level(level, rows, frames, mask)  # [N, L, Nv]
    return (torch.where(row_mask, weights, 0)[..., None] * cos).sum(1)


@pytest.fixture
def count_kernel_calls(monkeypatch):
    calls = []
    kernel = fap.pooled_scores

    def counting(*args, **kwargs):
        calls.append(kwargs.get("shift", False))
        return kernel(*args, **kwargs)

    monkeypatch.setattr(fap, "pooled_scores", counting)
    return calls


@pytest.mark.parametrize("residual", [True, False])
@pytest.mark.parametrize("memory_mb", [1024.0, 0.004, 1e-6])
def test_weighted_rows_match_the_materialised_reference_in_every_chunking(residual, memory_mb, count_kernel_calls):
    level = sharp_level(residual)
    inputs = level_inputs()
    fast = fast_level(level, *inputs, memory_mb=memory_mb)
    assert torch.allclose(fast, reference_level(level, *inputs), atol=1e-12)
    plan = plan_chunks(6, ROWS, 7, FRAMES, DIM + 8, chunk_budget_bytes(memory_mb, torch.device("cpu")), 8)
    assert len(count_kernel_calls) == math.ceil(6 / plan.texts) * math.ceil(7 / plan.videos)
    assert (len(count_kernel_calls) == 1) == (memory_mb == 1024.0)  # the small budgets really chunk


@pytest.mark.parametrize("autograd", [False, True])
def test_logits_beyond_exp_range_fall_back_to_the_max_shift(autograd, count_kernel_calls):
    """Evaluation (no autograd): the chunk overflows, is seen to on the host and recomputed with
    the shift. Training (autograd): shifted at once, nothing read on the host."""
    level = sharp_level(True, dtype=torch.float32, query_scale=7e3)  # logits spread over ~1e3
    inputs = level_inputs(dtype=torch.float32)
    with torch.set_grad_enabled(autograd):
        fast = fast_level(level, *inputs)
    reference = reference_level(level.double(), *(x.double() if x.is_floating_point() else x for x in inputs))
    assert count_kernel_calls == ([True] if autograd else [False, True])
    assert torch.isfinite(fast).all()
    assert torch.allclose(fast.double(), reference, atol=1e-5)


def test_training_scores_read_nothing_on_the_host(monkeypatch):
    """Under autograd the kernel never turns a tensor into a Python number (a GPU sync)."""
    level = sharp_level(True)
    inputs = level_inputs()
    reads = []
    for name in ("item", "__bool__", "__float__", "__int__", "tolist"):
        original = getattr(torch.Tensor, name)
        monkeypatch.setattr(torch.Tensor, name, lambda self, *a, _f=original, _n=name: reads.append(_n) or _f(self, *a))
    fast_level(level, *inputs)
    monkeypatch.undo()
    assert reads == []


def test_a_video_without_real_frames_scores_zero_with_finite_gradients():
    level = sharp_level(True)
    rows, row_mask, weights, frames, mask = level_inputs()
    mask[2] = False
    frames = frames * mask[..., None]
    rows.requires_grad_(True)
    sim = fast_level(level, rows, row_mask, weights, frames, mask)
    sim.sum().backward()
    assert torch.equal(sim[:, 2], torch.zeros_like(sim[:, 2]))
    assert all(torch.isfinite(p.grad).all() for p in level.parameters()) and torch.isfinite(rows.grad).all()


@pytest.mark.parametrize("residual", [True, False])
def test_uniform_attention_gives_the_mean_of_the_frames_at_init(residual):
    """W = I: a residual level (DLLFA) with uniform attention scores exactly like the mean of the
    frames (meanP), since v = 2 mean; xpool like the mean of the LayerNormed frames."""
    torch.manual_seed(0)
    level = FrameAttentionPooling(DIM, 8, residual).double()
    with torch.no_grad():
        level.query.weight.zero_()
        level.query.bias.zero_()
    rows, row_mask, weights, frames, mask = level_inputs()
    sim = fast_level(level, rows, row_mask, torch.ones_like(weights), frames, mask)
    pooled = frames if residual else layer_norm(level.key_norm, frames) * mask[..., None]
    mean = pooled.sum(1) / mask.sum(1, keepdim=True)
    cos = torch.einsum("nld,vd->nlv", unit(rows), unit(mean))
    assert torch.allclose(sim, (cos * row_mask[..., None]).sum(1), atol=1e-12)


def test_attention_logits_start_spread_at_clip_width():
    """Independent unit-norm rows and frames at D=512 (CLIP's width): with the LayerNorms before q
    and k and their orthonormal start the logits of a row over a video's frames start ~1 apart
    (without them ~1e-3), so that attention can leave uniform at the recipe's lr."""
    torch.manual_seed(0)
    level = FrameAttentionPooling(512, 64, residual=True)
    rows = unit(torch.randn(8, 1, 512))
    frames = unit(torch.randn(8, 12, 512))
    mask = torch.ones(8, 12, dtype=torch.bool)
    text = level.text_side(rows, torch.ones(8, 1, dtype=torch.bool), torch.ones(8, 1))
    video = level.video_side(frames, frames.mean(1), mask)
    logits = torch.einsum("nld,vtd->nlvt", text.queries, video.keys)  # [8, 1, 8, 12]
    assert 0.5 < logits.std(-1).mean() < 2.0


def test_inspected_attention_is_the_softmax_the_scores_use():
    level = sharp_level(True)
    rows, row_mask, weights, frames, mask = level_inputs()
    mean = frames.sum(1) / mask.sum(1, keepdim=True)
    text, video = level.text_side(rows, row_mask, weights), level.video_side(frames, mean, mask)
    attention = FrameAttentionPooling.attention(text, video, mask)  # [N, L, V, T]
    assert torch.allclose(attention.sum(-1), torch.ones(attention.shape[:-1], dtype=attention.dtype))
    assert (attention[:, :, ~mask] == 0).all()
    queries = level.query(layer_norm(level.query_norm, unit(rows))) / 8 ** 0.5
    expected = torch.einsum("nld,vtd->nlvt", queries, level.key(layer_norm(level.key_norm, frames)))
    expected = expected.masked_fill(~mask, float("-inf")).softmax(-1)
    assert torch.allclose(attention, expected, atol=1e-12)


def test_attention_starts_on_the_frames_that_resemble_the_text():
    """q and k start as one shared projection: before any training, a text row that is a noisy
    copy of one frame attends to that frame more than to the others (CLIP's joint space)."""
    torch.manual_seed(0)
    level = FrameAttentionPooling(512, 64, residual=True)
    frames = unit(torch.randn(16, 12, 512))
    rows = unit(frames[torch.arange(16), torch.arange(16) % 12] + torch.randn(16, 512) * 0.05)[:, None]  # [16, 1, D]
    mask = torch.ones(16, 12, dtype=torch.bool)
    text = level.text_side(rows, torch.ones(16, 1, dtype=torch.bool), torch.ones(16, 1))
    attention = FrameAttentionPooling.attention(text, level.video_side(frames, frames.mean(1), mask), mask)
    own = attention[torch.arange(16), 0, torch.arange(16)]  # [16, T] each row over its own video
    assert (own.argmax(-1) == torch.arange(16) % 12).all()
