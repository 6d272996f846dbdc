import numpy as np
import pytest
import torch
from torchvision.transforms import functional as tvf

from dataloaders.frame_transform import center_crop, resize_short_side, to_clip_frame


@pytest.mark.parametrize("factor", [2, 4])  # bilinear at half size, area averaging below
def test_downscaling_by_an_integer_factor_is_the_block_mean_then_a_centre_crop(factor):
    image = np.random.default_rng(factor).integers(0, 256, (24 * factor, 30 * factor, 3), dtype=np.uint8)
    blocks = image.reshape(24, factor, 30, factor, 3).astype(float).mean(axis=(1, 3))  # [24, 30, 3]
    expected = np.floor(blocks + 0.5)[:, 3:27]  # centre 24 of 30 columns
    result = to_clip_frame(image, 24)
    assert result.dtype == np.uint8 and result.shape == (24, 24, 3)
    assert np.abs(result.astype(int) - expected).max() <= 1


def test_frames_at_the_target_short_side_are_only_cropped():
    image = np.random.default_rng(1).integers(0, 256, (224, 398, 3), dtype=np.uint8)
    assert np.array_equal(to_clip_frame(image, 224), image[:, 87:311])
    tall = np.random.default_rng(2).integers(0, 256, (35, 16, 3), dtype=np.uint8)
    assert np.array_equal(to_clip_frame(tall, 16), tall[10:26])  # torchvision rounds (35 - 16) / 2 = 9.5 to 10


def test_crop_matches_torchvision_and_resize_matches_its_bicubic_up_to_interpolation_error():
    image = np.random.default_rng(3).normal(128, 20, (40, 52, 3)).clip(0, 255).astype(np.uint8)
    image = np.ascontiguousarray(np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)[:75])  # smooth, odd size: 75 x 104
    chw = torch.from_numpy(image).permute(2, 0, 1)
    assert np.array_equal(center_crop(image, 33), tvf.center_crop(chw, [33, 33]).permute(1, 2, 0).numpy())
    upscaled = resize_short_side(image, 90)
    reference = tvf.resize(chw, 90, interpolation=tvf.InterpolationMode.BICUBIC, antialias=True).permute(1, 2, 0).numpy()
    assert upscaled.shape == reference.shape == (90, 124, 3)
    assert np.abs(upscaled.astype(int) - reference).mean() < 3
