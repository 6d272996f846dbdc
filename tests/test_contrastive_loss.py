import math

import torch

from modules.contrastive_loss import symmetric_infonce


def direct_infonce(sim, scale):
    """Mean over both directions of -log softmax of the matching pair, written out."""
    n = len(sim)
    total = 0.0
    for i in range(n):
        row = [scale * sim[i][j] for j in range(n)]
        column = [scale * sim[j][i] for j in range(n)]
        total += math.log(sum(math.exp(x) for x in row)) - row[i]
        total += math.log(sum(math.exp(x) for x in column)) - column[i]
    return total / (2 * n)


def test_symmetric_infonce_matches_direct_cross_entropy():
    torch.manual_seed(0)
    sim = torch.rand(5, 5, dtype=torch.float64) * 2 - 1
    loss = symmetric_infonce(sim, torch.tensor(20.0, dtype=torch.float64))
    assert math.isclose(loss.item(), direct_infonce(sim.tolist(), 20.0), rel_tol=1e-12)


def test_symmetric_infonce_averages_both_directions():
    sim = torch.tensor([[0.9, 0.8], [0.1, 0.2]], dtype=torch.float64)  # rows and columns disagree
    scale = torch.tensor(10.0, dtype=torch.float64)
    target = torch.arange(2)
    text_to_video = torch.nn.functional.cross_entropy(scale * sim, target)
    video_to_text = torch.nn.functional.cross_entropy(scale * sim.T, target)
    assert not math.isclose(text_to_video.item(), video_to_text.item(), rel_tol=1e-3)
    assert math.isclose(symmetric_infonce(sim, scale).item(), (text_to_video + video_to_text).item() / 2,
                        rel_tol=1e-12)


def test_logit_scale_is_clamped_at_100():
    sim = torch.rand(4, 4, dtype=torch.float64)
    at_clamp = symmetric_infonce(sim, torch.tensor(100.0, dtype=torch.float64))
    assert torch.equal(symmetric_infonce(sim, torch.tensor(1000.0, dtype=torch.float64)), at_clamp)


def test_batch_of_one_is_finite_and_differentiable():
    sim = torch.tensor([[0.3]], requires_grad=True)
    scale = torch.tensor(4.0, requires_grad=True)
    loss = symmetric_infonce(sim, scale)
    loss.backward()
    assert torch.isfinite(loss) and loss.item() == 0
    assert torch.isfinite(sim.grad).all() and torch.isfinite(scale.grad)


def test_gradient_reaches_the_logit_scale():
    sim = torch.rand(3, 3)
    scale = torch.tensor(5.0, requires_grad=True)
    symmetric_infonce(sim, scale).backward()
    assert scale.grad.abs() > 0
