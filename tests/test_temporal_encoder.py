import pytest
import torch

from modules.errors import InputError
from modules.temporal_encoder import TemporalEncoder, key_padding_bias


def encoder(width=32, frames=6, layers=2, seed=0, centre=False):
    torch.manual_seed(seed)
    module = TemporalEncoder(width, frames, layers, centre=centre).double().eval()
    with torch.no_grad():
        module.positions.normal_()  # strong positions, so that order visibly matters
    return module


def test_initialised_from_clip_text_blocks_and_positions(tiny_backbone):
    clip = tiny_backbone.clip  # width 64, 2 text blocks
    module = TemporalEncoder(64, 12, layers=3, clip_text_transformer=clip.transformer,
                             clip_positional_embedding=clip.positional_embedding)
    assert module.heads == clip.transformer.resblocks[0].attn.num_heads
    for ours, theirs in zip(module.transformer.resblocks[:2], clip.transformer.resblocks):
        for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            assert torch.equal(a, b), name
    third = module.transformer.resblocks[2].attn.in_proj_weight
    assert not any(torch.equal(third, block.attn.in_proj_weight) for block in clip.transformer.resblocks)
    assert torch.equal(module.positions.data, clip.positional_embedding[:12])


def test_other_width_is_initialised_randomly(tiny_backbone):
    clip = tiny_backbone.clip
    module = TemporalEncoder(32, 12, layers=2, clip_text_transformer=clip.transformer,
                             clip_positional_embedding=clip.positional_embedding)
    assert module.positions.shape == (12, 32)
    assert module.heads == 1  # 32 // 64 rounded up to one head
    assert 0.8 < module.positions.std() < 1.2  # unit scale: order visible from the first step


@pytest.mark.parametrize("centre", [False, True])
def test_padded_frames_never_change_real_outputs_and_come_out_zero(centre):
    module = encoder(centre=centre)
    frames = torch.randn(3, 6, 32, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=torch.bool)
    clean = frames * mask[..., None]
    garbage = torch.where(mask[..., None], frames, 1e3 * torch.randn_like(frames))
    with torch.no_grad():
        a, b = module(clean, mask), module(garbage, mask)
    assert torch.allclose(a, b, atol=1e-10)
    assert torch.equal(a[~mask], torch.zeros_like(a[~mask]))


def test_a_video_alone_equals_the_same_video_in_a_padded_batch():
    module = encoder()
    frames = torch.randn(2, 6, 32, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=torch.bool)
    with torch.no_grad():
        batch = module(frames * mask[..., None], mask)
        alone = module(frames[1:, :3], torch.ones(1, 3, dtype=torch.bool))
    assert torch.allclose(batch[1, :3], alone[0], atol=1e-10)


def test_frame_order_matters():
    module = encoder()
    frames = torch.randn(1, 6, 32, dtype=torch.float64)
    mask = torch.ones(1, 6, dtype=torch.bool)
    order = torch.tensor([5, 4, 3, 2, 1, 0])
    with torch.no_grad():
        permuted_output = module(frames[:, order], mask)
        output_permuted = module(frames, mask)[:, order]
    assert (permuted_output - output_permuted).abs().max() > 0.1


def test_more_frames_than_the_position_table_is_an_input_error():
    with pytest.raises(InputError, match="max_frames"):
        encoder(frames=4)(torch.zeros(1, 5, 32, dtype=torch.float64), torch.ones(1, 5, dtype=torch.bool))


def test_key_padding_bias_masks_keys_only():
    mask = torch.tensor([[1, 0, 1]], dtype=torch.bool)
    bias = key_padding_bias(mask, heads=2, dtype=torch.float32)
    assert bias.shape == (2, 3, 3)
    assert torch.equal(bias[:, :, [0, 2]], torch.zeros(2, 3, 2))
    assert (bias[:, :, 1] == torch.finfo(torch.float32).min).all()


def test_centring_feeds_the_transformer_only_how_frames_differ():
    """Fo = F + TE(F - mean F + P) - P: a vector added to every real frame of a video passes through
    the residual unchanged and leaves the transformer's part alone; without centring it does not."""
    frames = torch.randn(2, 6, 32, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    shift = 5 * torch.randn(2, 1, 32, dtype=torch.float64) * mask[..., None]
    with torch.no_grad():
        centred = encoder(centre=True)
        moved = centred(frames * mask[..., None] + shift, mask) - centred(frames * mask[..., None], mask)
        plain = encoder(centre=False)
        moved_plain = plain(frames * mask[..., None] + shift, mask) - plain(frames * mask[..., None], mask)
    assert torch.allclose(moved, shift.expand_as(moved), atol=1e-9)
    assert not torch.allclose(moved_plain, shift.expand_as(moved_plain), atol=1e-3)


@pytest.mark.parametrize("centre", [False, True])
def test_positions_reach_the_output_only_through_the_blocks_updates(centre):
    """Fo = F + TE(x) - P with x = F (- mean F) + P: with every block's update zeroed, TE(x) = x and Fo
    is F + x - P, the same whatever the positions; with them in the output (F + TE(x)) frame t of every
    video would carry P_t."""
    module = encoder(centre=centre)
    with torch.no_grad():
        for block in module.transformer.resblocks:
            for projection in (block.attn.out_proj, block.mlp.c_proj):
                projection.weight.zero_()
                projection.bias.zero_()
    frames = torch.randn(2, 6, 32, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    frames = frames * mask[..., None]
    real = mask[..., None].double()
    inputs = (frames - (frames * real).sum(1, keepdim=True) / real.sum(1, keepdim=True)) * real if centre else frames
    with torch.no_grad():
        first = module(frames, mask)
        module.positions.normal_(std=3.0)
        second = module(frames, mask)
    assert torch.allclose(first, (frames + inputs) * real, atol=1e-10)
    assert torch.allclose(second, first, atol=1e-10)
