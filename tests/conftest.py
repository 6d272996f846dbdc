"""Shared fixtures: tiny randomly initialised models, generated videos and the synthetic driver
dataset, nothing downloaded. Helpers that are not fixtures live in tests/support/."""
import pytest
import torch

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def tiny_backbone():
    from modules.clip_backbone import ClipBackbone
    torch.manual_seed(0)
    return ClipBackbone("tiny").eval()


@pytest.fixture
def sample_videos(tmp_path):
    """A folder of test videos (tests/support/videos.py: `make_videos`)."""
    from tests.support.videos import make_videos
    return make_videos(str(tmp_path / "videos"))


@pytest.fixture
def sample_frames(sample_videos, tmp_path):
    """The frames of `sample_videos`, extracted at FRAMES_PER_SECOND."""
    from preprocess.extract_frames import extract_frames
    from tests.support.videos import FRAMES_PER_SECOND
    output = str(tmp_path / "frames")
    extract_frames(sample_videos, output, fps=FRAMES_PER_SECOND, short_side=24)
    return output


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """The driver tests' dataset, made once per session: the synthetic generator's MSR-VTT
    layout (22 training videos, 3 test twin pairs, 16 px) and its extracted frames. Tests
    write their runs under `root` (a distinct name each) and damage only copies of it."""
    from preprocess.extract_frames import extract_frames
    from preprocess.make_synthetic_dataset import make_synthetic_dataset
    root = tmp_path_factory.mktemp("synthetic")
    data = make_synthetic_dataset(str(root / "data"), train_videos=22, val_videos=0, test_videos=6,
                                  captions_per_video=1, size=16, event_seconds=2, min_events=2, max_events=2,
                                  fps=2, seed=0)
    extract_frames(data["videos_dir"], str(root / "frames"), fps=1, short_side=16)
    return {"annotations": data["annotations_dir"], "frames": str(root / "frames"), "root": root}
