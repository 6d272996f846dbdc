"""Shared fixtures: tiny randomly initialised models, nothing downloaded."""
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def tiny_backbone():
    from modules.clip_backbone import ClipBackbone
    torch.manual_seed(0)
    return ClipBackbone("tiny").eval()
