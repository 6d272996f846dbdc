"""driver/gpu_settings.py: the backend settings change only for a run on a GPU."""
import pytest
import torch

from driver.gpu_settings import apply_gpu_settings, gpu_settings


@pytest.fixture
def restored_backends():
    saved = (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision,
             torch.backends.cudnn.benchmark)
    yield
    (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision,
     torch.backends.cudnn.benchmark) = saved


def test_nothing_changes_on_the_cpu(restored_backends):
    before = (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.benchmark)
    assert apply_gpu_settings(torch.device("cpu"), tf32=True, training=True) == {}
    assert (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.benchmark) == before


@pytest.mark.parametrize("tf32,training", [(True, True), (False, False)])
def test_a_gpu_run_sets_tf32_and_the_autotuner(tf32, training, restored_backends):
    settings = apply_gpu_settings(torch.device("cuda", 0), tf32=tf32, training=training)
    precision = "tf32" if tf32 else "ieee"
    assert settings == gpu_settings(torch.device("cuda", 0), tf32, training)
    assert torch.backends.cuda.matmul.fp32_precision == precision
    assert torch.backends.cudnn.conv.fp32_precision == precision
    assert torch.backends.cudnn.benchmark is training
