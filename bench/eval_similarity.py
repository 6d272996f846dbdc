"""Benchmark (not a test): pairwise scoring of every head at real evaluation sizes.

Random features, D=512, T=12 frames, L=32 words, every frame and word real (the worst case of
the token level), at MSR-VTT size (1,000 texts x 1,000 videos) and VATEX size (15,000 x 1,500);
`--sizes small` (200 x 200) is a quick check that the benchmark runs (bench/gpu_check.sh's CPU smoke run).
For each head it times `similarity` on cached text/video sides (evaluation computes the sides
once; their time is reported apart as sides_seconds) and measures its peak memory. Beside it:

- floor_seconds: one plain matrix product [R, D] x [D, Nv*T] (every real word row of every
  caption against all frames; R = Nt*L here, where every word is real, and the real rows only
  where captions are padded, as the kernel drops padded words) in the same run, in row chunks
  only where its output does not fit --memory_mb;
  floor_blocked_seconds: the same product in blocks of FLOOR_BLOCK rows (on a CPU the
  fastest way to run it: each output block stays in cache), the stricter reference;
- path "naive": bench/naive_heads.py, which materialises every text-conditioned video vector
  ([Nt, Nv, D], and [Nt, L, Nv, D] at DLLFA's token level), where its estimated memory fits
  --naive_limit_mb. It starts from the temporally encoded frames, as the fast path starts
  from the cached sides.

Every measurement runs in a fresh process. Peak memory on CUDA: torch.cuda.max_memory_allocated
minus the allocation before the call. On CPU: the process's resident high-water mark (VmHWM,
i.e. ru_maxrss) is reset through /proc/self/clear_refs after the inputs and sides are built and
free heap memory is handed back (malloc_trim); peak_mb is its growth during the call (Linux).

    python -m bench.eval_similarity --sizes msrvtt --heads dllfa,meanP --json

`--heads` also takes `dllfa-shared-order` (`--sim_header dllfa --dllfa_order_fusion shared`: the ablation
that scores no reversed video, half the default's work), outside the default list.
"""
import argparse
import ctypes
import json
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import torch

from bench.machine import cpu_name
from bench.naive_heads import naive_scores, ordered_frames
from driver.process_group import DEVICES
from modules.retrieval_heads import HEAD_NAMES, build_head

EMBED_DIM, FRAMES, WORDS = 512, 12, 32
SIZES = {"msrvtt": (1000, 1000), "vatex": (15000, 1500), "small": (200, 200)}
VARIANTS = {"dllfa-shared-order": ("dllfa", {"dllfa_order_fusion": "shared"})}  # name -> (head, build_head flags)
NAIVE_COPIES = 3  # [.., Nv, D] tensors alive at once in the naive path
FLOOR_BLOCK = 2048  # rows per block of the blocked floor


def head_spec(head_name: str):
    """--sim_header and build_head flags of a name of `--heads` (a head, or one of VARIANTS)."""
    return VARIANTS.get(head_name, (head_name, {}))


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PeakMemory:
    """Peak memory growth in MiB of the code run between `start` and `stop` (see module doc)."""

    def __init__(self, device: torch.device):
        self.device = device

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
            return
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # reset VmHWM to the current resident size
        self.base = self.status_kib("VmRSS") * 1024

    def stop(self) -> float:
        if self.device.type == "cuda":
            return (torch.cuda.max_memory_allocated(self.device) - self.base) / 2 ** 20
        return (self.status_kib("VmHWM") * 1024 - self.base) / 2 ** 20

    @staticmethod
    def status_kib(field: str) -> int:
        with open("/proc/self/status") as handle:
            return int(re.search(rf"^{field}:\s+(\d+) kB", handle.read(), re.M).group(1))


def random_features(n_texts: int, n_videos: int, device: torch.device):
    generator = torch.Generator().manual_seed(0)

    def randn(*shape):  # built in place: no temporaries that would inflate the baseline
        return torch.randn(*shape, generator=generator).to(device)

    sentence, words = randn(n_texts, EMBED_DIM), randn(n_texts, WORDS, EMBED_DIM)
    frames = randn(n_videos, FRAMES, EMBED_DIM)
    word_mask = torch.ones(n_texts, WORDS, dtype=torch.bool, device=device)
    video_mask = torch.ones(n_videos, FRAMES, dtype=torch.bool, device=device)
    return sentence, words, word_mask, frames, video_mask


@torch.no_grad()
def run_case(head_name: str, size: str, path: str, memory_mb: float, device_name: str) -> dict:
    device = pick_device(device_name)
    n_texts, n_videos = SIZES[size]
    torch.manual_seed(0)
    name, flags = head_spec(head_name)
    head = build_head(name, EMBED_DIM, FRAMES, **flags).to(device).eval()
    sentence, words, word_mask, frames, video_mask = random_features(n_texts, n_videos, device)
    small = (sentence[:8], words[:8], word_mask[:8])
    head.similarity(head.text_side(*small), head.video_side(frames[:8], video_mask[:8]), memory_mb)  # warm-up
    result = dict(head=head_name, n_texts=n_texts, n_videos=n_videos, path=path)
    start = time.perf_counter()
    if path == "fast":
        text = head.text_side(sentence, words, word_mask)
        video = head.video_side(frames, video_mask)
    else:
        ordered, mask = ordered_frames(head, frames, video_mask)
    synchronize(device)
    result["sides_seconds"] = time.perf_counter() - start
    peak = PeakMemory(device)
    peak.start()
    start = time.perf_counter()
    if path == "fast":
        head.similarity(text, video, memory_mb)
    else:
        naive_scores(head, sentence, words, word_mask, ordered, mask)
    synchronize(device)
    result["seconds"] = time.perf_counter() - start
    result["peak_mb"] = peak.stop()
    return result


@torch.no_grad()
def run_floor(size: str, memory_mb: float, device_name: str) -> dict:
    """Seconds of [R, D] x [D, Nv*T] over the R real word rows of the captions: in as few row
    blocks as memory_mb allows, and in blocks of FLOOR_BLOCK rows."""
    device = pick_device(device_name)
    n_texts, n_videos = SIZES[size]
    _, words, word_mask, frames, video_mask = random_features(n_texts, n_videos, device)
    rows, columns = words[word_mask], frames[video_mask].T  # [R, D], [D, Nv*T] real rows and frames only

    def product(block: int) -> float:
        out = torch.empty(block, columns.shape[1], device=device)
        torch.mm(rows[:block], columns, out=out)  # warm-up
        synchronize(device)
        start = time.perf_counter()
        for r0 in range(0, rows.shape[0], block):
            part = rows[r0:r0 + block]
            torch.mm(part, columns, out=out[:part.shape[0]])
        synchronize(device)
        return time.perf_counter() - start

    fitting = max(1, min(rows.shape[0], int(memory_mb * 2 ** 20 // (4 * columns.shape[1]))))
    return dict(floor_seconds=product(fitting), floor_blocked_seconds=product(min(FLOOR_BLOCK, rows.shape[0])),
                floor_rows=rows.shape[0])


def naive_estimate_mb(head_name: str, size: str) -> float:
    """Memory of the naive path: NAIVE_COPIES fp32 tensors of [Nt, rows, Nv, D]."""
    n_texts, n_videos = SIZES[size]
    name, flags = head_spec(head_name)
    rows = 1 + WORDS if name == "dllfa" else 1
    if name == "dllfa" and build_head(name, EMBED_DIM, FRAMES, **flags).scores_reversal:
        rows *= 2  # every row scores the video and its reversal
    return NAIVE_COPIES * 4 * n_texts * rows * n_videos * EMBED_DIM / 2 ** 20


def in_fresh_process(function, *args):
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        return pool.submit(function, *args).result()


def machine_info(device: torch.device) -> dict:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = cpu_name()
    return dict(device=device.type, device_name=name, cpu_cores=os.cpu_count(),
                torch_threads=torch.get_num_threads(), torch_version=torch.__version__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="msrvtt,vatex", help=f"comma list of {', '.join(SIZES)}")
    parser.add_argument("--heads", default=",".join(HEAD_NAMES), help="comma list of heads")
    parser.add_argument("--memory_mb", type=float, default=1024.0, help="similarity chunk budget")
    parser.add_argument("--naive_limit_mb", type=float, default=8192.0,
                        help="run the naive path where its estimated memory is below this")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    sizes, heads = args.sizes.split(","), args.heads.split(",")
    unknown = [v for v in sizes if v not in SIZES] + [v for v in heads if v not in HEAD_NAMES + tuple(VARIANTS)]
    if unknown:
        parser.error(f"unknown {', '.join(unknown)}: sizes are {', '.join(SIZES)}, "
                     f"heads {', '.join(HEAD_NAMES + tuple(VARIANTS))}")
    device = pick_device(args.device)
    cases, skipped = [], []
    for size in sizes:
        floor = in_fresh_process(run_floor, size, args.memory_mb, args.device)
        for head in heads:
            paths = ["fast"]
            naive_mb = naive_estimate_mb(head, size)
            if naive_mb <= args.naive_limit_mb:
                paths.append("naive")
            else:
                skipped.append(dict(head=head, n_texts=SIZES[size][0], n_videos=SIZES[size][1],
                                    path="naive", estimated_mb=naive_mb))
                if not args.json:
                    print(f"{size:7s} {head:9s} naive skipped: needs about {naive_mb / 1024:.0f} GiB", flush=True)
            for path in paths:
                case = in_fresh_process(run_case, head, size, path, args.memory_mb, args.device)
                case.update(floor)
                cases.append(case)
                if not args.json:
                    print(f"{size:7s} {head:9s} {path:5s} {case['seconds']:8.2f} s {case['peak_mb']:8.0f} MiB  "
                          f"{case['seconds'] / floor['floor_seconds']:5.2f} x floor ({floor['floor_seconds']:.2f} s)  "
                          f"{case['seconds'] / floor['floor_blocked_seconds']:5.2f} x blocked floor "
                          f"({floor['floor_blocked_seconds']:.2f} s)  sides {case['sides_seconds']:.2f} s", flush=True)
    info = machine_info(device)
    if args.json:
        print(json.dumps(dict(info, memory_mb=args.memory_mb, cases=cases, skipped=skipped)))
    else:
        print(", ".join(f"{k}={v}" for k, v in info.items()))


if __name__ == "__main__":
    main()
