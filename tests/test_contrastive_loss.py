import math

import torch

from modules.contrastive_loss import positive_mask, symmetric_infonce


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


def direct_multi_positive(sim, scale, positives):
    """Both directions of mean_{p positive} -log softmax(row)[p], written out."""
    def direction(rows, mask):
        total = 0.0
        for row, keep in zip(rows, mask):
            logits = [scale * x for x in row]
            log_z = math.log(sum(math.exp(x) for x in logits))
            chosen = [log_z - x for x, k in zip(logits, keep) if k]
            total += sum(chosen) / len(chosen)
        return total / len(rows)
    columns = [list(column) for column in zip(*sim)]
    return (direction(sim, positives) + direction(columns, [list(c) for c in zip(*positives)])) / 2


def test_identity_positives_give_exactly_the_one_hot_loss():
    torch.manual_seed(1)
    sim = torch.rand(6, 6, dtype=torch.float64) * 2 - 1
    scale = torch.tensor(30.0, dtype=torch.float64)
    identity = torch.eye(6, dtype=torch.bool)
    assert torch.equal(symmetric_infonce(sim, scale, identity), symmetric_infonce(sim, scale))


def test_a_caption_that_fits_two_videos_counts_both_as_positives():
    """Caption 0 describes videos 0 and 1 (a partial caption and the twin that shows the event too):
    its row and video 1's column take the mean over their two positives. A one-hot target (the
    mask replaced by the identity) gives another value."""
    torch.manual_seed(2)
    sim = torch.rand(4, 4, dtype=torch.float64) * 2 - 1
    scale = torch.tensor(20.0, dtype=torch.float64)
    positives = torch.eye(4, dtype=torch.bool)
    positives[0, 1] = True
    loss = symmetric_infonce(sim, scale, positives)
    assert math.isclose(loss.item(), direct_multi_positive(sim.tolist(), 20.0, positives.tolist()), rel_tol=1e-12)
    assert not math.isclose(loss.item(), symmetric_infonce(sim, scale).item(), rel_tol=1e-3)


def test_multi_positive_loss_is_indifferent_between_two_matching_videos():
    """Equal scores for the two videos a caption describes: the gradient does not push one
    above the other (the one-hot target would push video 1 down)."""
    sim = torch.tensor([[0.8, 0.8, 0.1], [0.2, 0.9, 0.0], [0.1, 0.0, 0.7]], dtype=torch.float64, requires_grad=True)
    positives = torch.tensor([[True, True, False], [False, True, False], [False, False, True]])
    symmetric_infonce(sim, torch.tensor(10.0, dtype=torch.float64), positives).backward()
    row_push = sim.grad[0, 0] - sim.grad[0, 1]
    sim.grad = None
    symmetric_infonce(sim, torch.tensor(10.0, dtype=torch.float64)).backward()
    assert sim.grad[0, 1] > 0  # one-hot: video 1 is a negative of caption 0
    assert abs(row_push) < abs(sim.grad[0, 0] - sim.grad[0, 1])


def test_positive_mask_marks_the_videos_each_caption_describes():
    matches = torch.tensor([[3, 7, -1], [7, -1, -1], [5, -1, -1], [3, 5, 7]])  # video indices, -1 padded
    video_index = torch.tensor([3, 7, 5, 9])  # item 3 holds video 9: its caption lists other videos only
    assert positive_mask(matches, video_index).tolist() == [[True, True, False, False],
                                                            [False, True, False, False],
                                                            [False, False, True, False],
                                                            [True, True, True, False]]
