"""Benchmark (not a test): how fast clips reach the model, and what frame extraction costs.

    python -m bench.data_loading [--videos 8] [--seconds 16] [--clips 64] [--rounds 4] [--workers 2] [--json]

On generated videos (30 fps, 320 x 240, MPEG-4, keyframe every 12 frames) it measures, on
one core (OpenCV, FFmpeg and torch limited to one thread), 12-frame 224 px clips per second:
  frames    pre-extracted JPEGs (1 fps, short side 224) through dataloaders' read_clip
  raw       the video files decoded on the fly (seek or read on, whichever decodes less)
  baseline  the common recipe: cv2.VideoCapture.set(CAP_PROP_POS_FRAMES) for each of 12
            frames (np.linspace over the video), then PIL resize (bicubic) + centre crop
  decode    only the JPEG decoding of the frames that `frames` reads (its upper limit)
and the speed of the installed JPEG decoders (OpenCV, torchvision, PIL) on those files;
`loader` runs `frames` through a DataLoader with --workers processes. The paths take turns
in --rounds rounds and the best round counts. Extraction: time and
bytes of extract_frames.py (1 fps, short side 224) against writing every frame at native
size and rate as JPEG (what `ffmpeg -i video.mp4 %05d.jpg` does). Timings are wall clock
on a possibly shared machine: compare numbers from the same run.
"""
import argparse
import io
import json
import os
import tempfile
import time

import cv2
import numpy as np
import torch
import torchvision
from PIL import Image
from torch.utils.data import ConcatDataset, DataLoader
from torchvision.io import decode_jpeg

from dataloaders.clip_reading import ClipSpec, read_clip
from dataloaders.frame_layout import frame_file_name, frame_folder
from dataloaders.frame_sampling import sample_frame_indices
from dataloaders.retrieval_datasets import EvalVideoDataset, collate_batch
from dataloaders.retrieval_split import split_from_pairs
from dataloaders.video_decoding import open_capture
from dataloaders.video_source import FrameFolderSource, RawVideoSource, decode_jpeg_rgb
from preprocess.extract_frames import extract_frames

WIDTH, HEIGHT, NATIVE_FPS = 320, 240, 30.0
MAX_FRAMES, IMAGE_SIZE = 12, 224


def write_video(path: str, seconds: float, seed: int) -> None:
    """Moving gradient background, three moving discs, mild noise: compresses like real video."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    colours = rng.integers(40, 255, (3, 3))
    paths = rng.uniform(0.2, 1.0, (3, 4))
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), NATIVE_FPS, (WIDTH, HEIGHT))
    for index in range(int(seconds * NATIVE_FPS)):
        t = index / NATIVE_FPS
        frame = np.stack([(columns + 40 * t) % 256, (rows * 0.8 + 25 * t) % 256,
                          np.full_like(rows, 90 + 60 * np.sin(t))], axis=-1)
        for colour, (ax, ay, fx, fy) in zip(colours, paths):
            centre = (int(WIDTH / 2 + ax * 120 * np.sin(fx * t)), int(HEIGHT / 2 + ay * 90 * np.cos(fy * t)))
            cv2.circle(frame, centre, 30, colour.tolist(), -1)
        frame += rng.normal(0, 2, frame.shape).astype(np.float32)
        writer.write(frame.clip(0, 255).astype(np.uint8))
    writer.release()


def folder_bytes(folder: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(folder) for f in files)


def write_all_frames(video_dir: str, output_dir: str) -> None:
    """The common recipe: every frame, native size and rate, JPEG at OpenCV's default quality."""
    for name in sorted(os.listdir(video_dir)):
        folder = os.path.join(output_dir, os.path.splitext(name)[0])
        os.makedirs(folder)
        capture = cv2.VideoCapture(os.path.join(video_dir, name))
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            cv2.imwrite(os.path.join(folder, f"{index:05d}.jpg"), frame)
            index += 1


def baseline_clip(path: str) -> torch.Tensor:
    """Seek to each of 12 frames with CAP_PROP_POS_FRAMES, convert through PIL -> [12, 3, 224, 224]."""
    capture = open_capture(path)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for index in np.linspace(0, count - 1, MAX_FRAMES).astype(int):
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        frame = capture.read()[1]
        image = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        scale = IMAGE_SIZE / min(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BICUBIC)
        left, top = (image.width - IMAGE_SIZE) // 2, (image.height - IMAGE_SIZE) // 2
        frames.append(np.asarray(image.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE))))
    capture.release()
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)


def best_clips_per_second(readers: dict, video_ids, clips: int, rounds: int) -> dict:
    """{name: clips/s} of each `readers[name](video_id)`: the paths take turns, `rounds` rounds
    of clips // rounds clips each, and the best round counts (the least disturbed by other
    processes on a shared machine)."""
    best = dict.fromkeys(readers, 0.0)
    per_round = max(1, clips // rounds)
    for name, read_one in readers.items():
        read_one(video_ids[0])  # warm up
    for round_index in range(rounds):
        for name, read_one in readers.items():
            start = time.perf_counter()
            for i in range(per_round):
                read_one(video_ids[(round_index * per_round + i) % len(video_ids)])
            best[name] = max(best[name], per_round / (time.perf_counter() - start))
    return best


def decoder_milliseconds(blobs) -> dict:
    """Per-frame decode time of each installed JPEG decoder on the same files."""
    decoders = {
        "cv2.imdecode": decode_jpeg_rgb,
        "torchvision.io.decode_jpeg": lambda data: decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8)),
        "PIL": lambda data: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")),
    }
    timings = {}
    for name, decode in decoders.items():
        decode(blobs[0])
        start = time.perf_counter()
        for data in blobs:
            decode(data)
        timings[name] = round((time.perf_counter() - start) / len(blobs) * 1e3, 3)
    return timings


def run(videos: int, seconds: float, clips: int, rounds: int, workers: int, work_dir: str) -> dict:
    video_dir, frames_dir, all_dir = (os.path.join(work_dir, n) for n in ("videos", "frames", "all_frames"))
    os.makedirs(video_dir)
    video_ids = [f"video{i}" for i in range(videos)]
    for seed, video_id in enumerate(video_ids):
        write_video(os.path.join(video_dir, video_id + ".mp4"), seconds, seed)

    start = time.perf_counter()
    extract_frames(video_dir, frames_dir, fps=1.0, short_side=IMAGE_SIZE, workers=1)
    extract_seconds = time.perf_counter() - start
    start = time.perf_counter()
    write_all_frames(video_dir, all_dir)
    all_frames_seconds = time.perf_counter() - start

    spec = ClipSpec(MAX_FRAMES, IMAGE_SIZE, "uniform", "normal", random_offset=False)
    rng = np.random.default_rng(0)
    frame_source, raw_source = FrameFolderSource(frames_dir), RawVideoSource(video_dir, fps=1.0)
    blobs = {}
    for video_id in video_ids:
        count = frame_source.manifest[video_id].frames
        for index in sample_frame_indices(count, MAX_FRAMES, "uniform"):
            with open(os.path.join(frame_folder(frames_dir, video_id), frame_file_name(int(index))), "rb") as handle:
                blobs.setdefault(video_id, []).append(handle.read())

    result = best_clips_per_second({
        "frames_clips_per_s": lambda v: read_clip(frame_source, "bench", v, spec, rng),
        "raw_clips_per_s": lambda v: read_clip(raw_source, "bench", v, spec, rng),
        "baseline_clips_per_s": lambda v: baseline_clip(os.path.join(video_dir, v + ".mp4")),
        "decode_limit_clips_per_s": lambda v: [decode_jpeg_rgb(b) for b in blobs[v]],
    }, video_ids, clips, rounds)
    result["jpeg_decoder_ms_per_frame"] = decoder_milliseconds([b for v in video_ids for b in blobs[v]])
    if workers > 0:
        dataset = EvalVideoDataset(split_from_pairs("bench", "test", [(v, v) for v in video_ids]), frame_source,
                                   MAX_FRAMES, IMAGE_SIZE)
        repeats = max(2, clips // len(video_ids))
        loader = DataLoader(ConcatDataset([dataset] * repeats), batch_size=len(video_ids), num_workers=workers,
                            collate_fn=collate_batch)
        batches = iter(loader)
        next(batches)  # workers started
        start = time.perf_counter()
        served = sum(len(batch["video_index"]) for batch in batches)
        result["loader_clips_per_s"] = served / (time.perf_counter() - start)
    result = {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}
    result.update({
        "frames_vs_baseline": round(result["frames_clips_per_s"] / result["baseline_clips_per_s"], 2),
        "decode_limit_vs_frames": round(result["decode_limit_clips_per_s"] / result["frames_clips_per_s"], 2),
        "extract_seconds": round(extract_seconds, 2), "extract_bytes": folder_bytes(frames_dir),
        "all_frames_seconds": round(all_frames_seconds, 2), "all_frames_bytes": folder_bytes(all_dir),
        "videos": videos, "video_seconds": seconds, "clips": clips, "rounds": rounds, "loader_workers": workers,
        "cores": os.cpu_count(), "torch_version": torch.__version__, "torchvision_version": torchvision.__version__,
        "cv2_version": cv2.__version__,
    })
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=8, help="generated videos (default 8)")
    parser.add_argument("--seconds", type=float, default=16.0, help="length of each video (default 16: 16 frames at 1 fps)")
    parser.add_argument("--clips", type=int, default=64, help="clips read per path (default 64)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds; the best counts (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers for loader_clips_per_s (0: skip)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="bench_data_loading_") as work_dir:
        result = run(args.videos, args.seconds, args.clips, args.rounds, args.workers, work_dir)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:28s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
