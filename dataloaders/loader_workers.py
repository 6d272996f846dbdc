"""DataLoaders of clip batches that fit a cluster node: one OpenCV thread per worker, and the
shared memory the workers need checked before they start.

- Threads: OpenCV runs a thread pool as large as the machine in every process that calls it
  (JPEG decoding, resizing); with W workers per GPU and 8 GPUs that is 8 W pools competing for
  the same cores. The loader's parallelism is its workers (torch already runs one thread in
  each), so OpenCV gets one thread there: `clip_loader` sets it in the parent before the workers
  fork (a forked child of a process whose OpenCV pool has run and gone idle deadlocks on its
  first OpenCV call that touches the pool), and `worker_init` (every loader's worker_init_fn)
  sets it again in the worker, for start methods that do not fork (spawn, forkserver).
- Shared memory: a worker stacks each batch into shared memory (/dev/shm) and keeps up to
  `prefetch_factor` batches in flight, so a node needs about
      processes on the node x workers x prefetch_factor x batch bytes
  there, batch bytes ~ B x T x 3 x H x W (uint8 video [B, T, 3, H, W]; the mask, tokens and
  indices add under 0.1%). A batch of 16 clips x 12 frames at 224 px is 29 MB: 8 processes x
  4 workers x 2 batches need 1.9 GB, where a container's default /dev/shm is 64 MB and running
  out kills a worker with a bus error. `check_shared_memory` raises InputError with one line
  naming the free space, the need and the fixes instead. Without /dev/shm (not Linux) it checks
  nothing.
"""
import os
import shutil
from typing import Optional

import cv2
from torch.utils.data import DataLoader, Dataset

from dataloaders.clip_reading import ClipSpec
from modules.errors import InputError

SHARED_MEMORY = "/dev/shm"
DEFAULT_PREFETCH_FACTOR = 2  # torch's DataLoader default with workers


def worker_init(worker_id: int) -> None:
    """worker_init_fn: OpenCV on one thread in this worker."""
    cv2.setNumThreads(1)


def clip_batch_bytes(batch_size: int, spec: ClipSpec) -> int:
    """Bytes of one batch's video [B, T, 3, H, W] uint8 and mask [B, T] bool."""
    return batch_size * spec.max_frames * (3 * spec.image_size ** 2 + 1)


def _mib(size: float) -> str:
    return f"{size / 2 ** 20:,.0f} MiB"


def workers_that_fit(processes: int, prefetch_factor: int, batch_bytes: int,
                     directory: str = SHARED_MEMORY) -> Optional[int]:
    """How many workers per process the free space of `directory` holds (None: no such folder)."""
    if not os.path.isdir(directory):
        return None
    return shutil.disk_usage(directory).free // (processes * prefetch_factor * batch_bytes)


def check_shared_memory(workers: int, prefetch_factor: int, batch_bytes: int, processes: Optional[int] = None,
                        directory: str = SHARED_MEMORY) -> None:
    """Raise InputError when `directory` has less free space than `processes` (default: torchrun's
    LOCAL_WORLD_SIZE, else 1) x `workers` x `prefetch_factor` batches of `batch_bytes`."""
    processes = processes or int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    fitting = workers_that_fit(processes, prefetch_factor, batch_bytes, directory)
    if workers == 0 or fitting is None or fitting >= workers:
        return
    need = processes * workers * prefetch_factor * batch_bytes
    free = shutil.disk_usage(directory).free
    fewer = f"--num_thread_reader {fitting}" if fitting else "--num_thread_reader 0 (no workers) or a smaller batch"
    raise InputError(
        f"{directory} has {_mib(free)} free, the data loader workers need about {_mib(need)} ({processes} processes "
        f"x {workers} workers x {prefetch_factor} prefetched batches x {_mib(batch_bytes)}): give it more (docker: "
        f"--shm-size {-(-need * 5 // 4 // 2 ** 30)}g) or use fewer workers ({fewer})")


def clip_loader(dataset: Dataset, spec: ClipSpec, batch_size: int, num_workers: int, **options) -> DataLoader:
    """torch's DataLoader over items of clips made by `spec`, its workers with `worker_init`,
    after `check_shared_memory` for their batches. `options`: DataLoader's other arguments."""
    check_shared_memory(num_workers, options.get("prefetch_factor") or DEFAULT_PREFETCH_FACTOR,
                        clip_batch_bytes(batch_size, spec))
    if num_workers:
        cv2.setNumThreads(1)  # here, before the fork: a child of a process whose pool is live hangs in OpenCV
    return DataLoader(dataset, batch_size=batch_size, num_workers=num_workers,
                      worker_init_fn=worker_init if num_workers else None, **options)
