"""scripts/cuda_check.py: why no CUDA device is usable, from what torch says."""
import warnings

import torch

from scripts import cuda_check


def test_a_driver_too_old_is_named_with_the_build_and_torchs_words(monkeypatch):
    def too_old():
        warnings.warn("CUDA initialization: The NVIDIA driver on your system is too old (found version 12020).")
        return False

    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(torch.cuda, "is_available", too_old)
    count, why = cuda_check.usable_cuda_devices()
    assert count == 0
    assert why == (f"torch {torch.__version__}, built for CUDA 13.0; torch.cuda says: CUDA initialization: The "
                   "NVIDIA driver on your system is too old (found version 12020).")


def test_a_build_without_cuda_says_so(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", None)
    assert cuda_check.usable_cuda_devices() == (0, f"torch {torch.__version__} is a build without CUDA; install a "
                                                   "CUDA build of torch")


def test_usable_devices_are_counted(monkeypatch, capsys):
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    assert cuda_check.main() == 0 and capsys.readouterr().out == "8\n"
