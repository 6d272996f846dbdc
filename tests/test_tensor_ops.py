import torch

from modules.tensor_ops import masked_mean, normalize, reverse_real_frames


def test_reverse_real_frames_plays_each_video_backwards_in_its_own_slots():
    rows = torch.arange(6.0)[None, :, None].expand(3, 6, 2)  # row t holds t
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 0, 1, 1, 0], [0, 1, 0, 0, 0, 0]], dtype=torch.bool)
    backwards = reverse_real_frames(rows, mask)
    assert backwards[..., 0].tolist() == [[5, 4, 3, 2, 1, 0], [4, 3, 2, 1, 0, 5], [0, 1, 2, 3, 4, 5]]
    assert torch.equal(reverse_real_frames(backwards, mask), rows)


def test_masked_mean_and_normalize_ignore_padding_and_zero_rows():
    x = torch.tensor([[[3.0, 4.0], [0.0, 0.0]]])
    mask = torch.tensor([[True, False]])
    assert masked_mean(x, mask).tolist() == [[3.0, 4.0]]
    assert torch.allclose(normalize(x)[0], torch.tensor([[0.6, 0.8], [0.0, 0.0]]))
    assert masked_mean(torch.zeros(1, 2, 2), torch.zeros(1, 2, dtype=torch.bool)).tolist() == [[0.0, 0.0]]
