"""Shared fixtures: tiny randomly initialised models, nothing downloaded."""
import pytest
import torch

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def tiny_backbone():
    from modules.clip_backbone import ClipBackbone
    torch.manual_seed(0)
    return ClipBackbone("tiny").eval()
