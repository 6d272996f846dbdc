"""Loader workers: OpenCV on one thread in each, and /dev/shm checked against what they keep in flight."""
import os
import subprocess
import sys
from collections import namedtuple

import cv2
import pytest
from torch.utils.data import Dataset

from dataloaders import loader_workers
from dataloaders.clip_reading import ClipSpec
from dataloaders.loader_workers import check_shared_memory, clip_batch_bytes, clip_loader
from modules.errors import InputError

SPEC = ClipSpec(max_frames=12, image_size=224, slice_framepos="uniform", frame_order="normal", random_offset=False)
MIB = 2 ** 20
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class OpenCvThreads(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        return cv2.getNumThreads()


WORKERS_SCRIPT = """
import cv2
from tests.test_loader_workers import SPEC, OpenCvThreads
from dataloaders.loader_workers import clip_loader
cv2.setNumThreads(3)  # what a forked worker would inherit
print([int(x) for batch in clip_loader(OpenCvThreads(), SPEC, 1, 2) for x in batch])
"""


def test_every_worker_runs_opencv_on_one_thread():
    """In a fresh interpreter: after this process has run OpenCV's thread pool (other tests do), a
    forked child's cv2.getNumThreads() can wait forever for the pool's threads, which a fork does not copy."""
    result = subprocess.run([sys.executable, "-c", WORKERS_SCRIPT], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[-2] == "[1, 1, 1, 1]"


AFTER_THE_POOL_RAN = """
import cv2, numpy as np
from dataloaders.clip_reading import ClipSpec
from dataloaders.loader_workers import clip_loader
from tests.test_loader_workers import OpenCvThreads, SPEC
image = np.random.default_rng(0).integers(0, 255, (2000, 2000, 3), dtype=np.uint8)
for _ in range(5):
    cv2.resize(image, (1000, 1000), interpolation=cv2.INTER_AREA)  # OpenCV's pool runs in this process
print([int(x) for batch in clip_loader(OpenCvThreads(), SPEC, 1, 2) for x in batch])
"""


def test_workers_forked_after_opencv_ran_its_pool_do_not_hang():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", AFTER_THE_POOL_RAN], cwd=repo, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[1, 1, 1, 1]", result.stderr[-2000:]


def test_batch_bytes_come_from_the_clip_shape():
    assert clip_batch_bytes(16, SPEC) == 16 * 12 * (3 * 224 * 224 + 1)  # ~29 MB: uint8 video + bool mask


def _free(monkeypatch, free_bytes):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(loader_workers.shutil, "disk_usage", lambda path: usage(free_bytes, 0, free_bytes))


def test_too_little_shared_memory_is_one_line_with_the_numbers_and_the_fixes(monkeypatch, tmp_path):
    _free(monkeypatch, 64 * MIB)  # docker's default
    with pytest.raises(InputError) as error:
        check_shared_memory(4, 2, 30 * MIB, processes=8, directory=str(tmp_path))
    message = str(error.value)
    assert "\n" not in message and str(tmp_path) in message
    assert "64 MiB free" in message and "1,920 MiB" in message  # 8 x 4 x 2 x 30 MiB
    assert "--shm-size 3g" in message and "--num_thread_reader 0" in message  # not even one worker fits
    _free(monkeypatch, 500 * MIB)
    with pytest.raises(InputError, match=r"--num_thread_reader 1\)"):  # 8 x 1 x 2 x 30 = 480 MiB fits
        check_shared_memory(4, 2, 30 * MIB, processes=8, directory=str(tmp_path))


def test_enough_shared_memory_no_workers_or_no_dev_shm_pass(monkeypatch, tmp_path):
    _free(monkeypatch, 240 * MIB)
    check_shared_memory(4, 2, 30 * MIB, processes=1, directory=str(tmp_path))  # exactly the need
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    with pytest.raises(InputError, match="2 processes"):  # torchrun's processes on this node
        check_shared_memory(4, 2, 30 * MIB, directory=str(tmp_path))
    check_shared_memory(0, 2, 30 * MIB, directory=str(tmp_path))  # no workers: batches stay in the process
    check_shared_memory(4, 2, 30 * MIB, directory=str(tmp_path / "absent"))  # no /dev/shm: nothing to check


def test_the_loader_checks_before_starting_workers(monkeypatch):
    checked = []
    monkeypatch.setattr(loader_workers, "check_shared_memory", lambda *args: checked.append(args))
    clip_loader(OpenCvThreads(), SPEC, 16, 2, prefetch_factor=4)
    assert checked == [(2, 4, clip_batch_bytes(16, SPEC))]
