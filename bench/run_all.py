"""`make bench`: run the three benchmarks at sizes that finish in minutes on a 2-core CPU and
write bench/results.json and bench/results.md (the README's performance section is pasted
from results.md by scripts/sync_readme.py).

    python -m bench.run_all [--quick]

Each benchmark runs in its own process with --json; its JSON is kept whole in results.json,
and results.md shows the numbers the targets are about.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def run_benchmark(module: str, *flags: str) -> dict:
    command = [sys.executable, "-m", module, *flags, "--json"]
    print("$ " + " ".join(command[1:]), flush=True)
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"{module} failed with status {result.returncode}")
    return {"command": "python " + " ".join(command[1:]), **json.loads(result.stdout.strip().splitlines()[-1])}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def markdown(results: dict) -> str:
    machine = results["machine"]
    lines = [f"Measured by `make bench` on {machine['cpu']}, {machine['cores']} cores"
             f"{', ' + machine['gpu'] if machine['gpu'] else ', no GPU'}; torch {machine['torch']}; "
             f"{machine['date']}.", ""]
    evals = results["eval_similarity"]
    lines += ["**Evaluation scoring** (`bench/eval_similarity.py`): the pairwise part only, on cached text and "
              "video sides, D=512, T=12, L=32; floor = one `[Nt*L, D] x [D, Nv*T]` product in the same run.", "",
              "| head | texts x videos | path | seconds | x floor | peak MB | sides s |", "|---|---|---|---:|---:|---:|---:|"]
    for case in evals["cases"]:
        lines.append(f"| {case['head']} | {case['n_texts']} x {case['n_videos']} | {case['path']} | "
                     f"{case['seconds']:.2f} | {case['seconds'] / case['floor_seconds']:.2f} | {case['peak_mb']:.0f} | "
                     f"{case['sides_seconds']:.2f} |")
    for case in evals.get("skipped", []):
        lines.append(f"| {case['head']} | {case['n_texts']} x {case['n_videos']} | {case['path']} | not run: "
                     f"needs ~{case['estimated_mb'] / 1024:.0f} GB | | | |")
    data = results["data_loading"]
    lines += ["", "**Data loading** (`bench/data_loading.py`, one core): 12-frame 224 px clips per second.", "",
              "| path | clips/s |", "|---|---:|",
              f"| pre-extracted frames (ours) | {data['frames_clips_per_s']:.1f} |",
              f"| raw video, seek-or-read (ours) | {data['raw_clips_per_s']:.1f} |",
              f"| baseline: `CAP_PROP_POS_FRAMES` seek per frame + PIL | {data['baseline_clips_per_s']:.1f} |",
              f"| JPEG decode only (limit for frames) | {data['decode_limit_clips_per_s']:.1f} |", "",
              f"Pre-extracted vs baseline: {data['frames_clips_per_s'] / data['baseline_clips_per_s']:.1f}x; "
              f"decode limit / pre-extracted: {data['decode_limit_clips_per_s'] / data['frames_clips_per_s']:.2f}. "
              f"Extraction of {data['videos']} videos ({data['video_seconds']:.0f} s each): "
              f"{data['extract_seconds']:.2f} s and {data['extract_bytes'] / 1e6:.1f} MB at 1 fps / short side 224, "
              f"against {data['all_frames_seconds']:.2f} s and {data['all_frames_bytes'] / 1e6:.1f} MB for every "
              f"frame at native size and rate."]
    train = results["train_step"]
    lines += ["", "**Training step** (`bench/train_step.py`, the real loader and loop):", "",
              "| model | head | batch x frames | precision | workers | clips/s | s/step | data wait | GFLOPs/clip | MFU |",
              "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
              f"| {train['model']} ({train['image_size']} px) | {train['head']} | {train['batch_size']} x "
              f"{train['frames']} | {train['precision']} | {train['workers']} | {train['clips_per_s']:.1f} | "
              f"{train['step_seconds']:.3f} | {100 * train['data_wait_share']:.1f}% | "
              f"{train['flops_per_clip'] / 1e9:.2f} | {train['mfu'] if train['mfu'] is not None else 'n/a (CPU)'} |"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="MSR-VTT size only and fewer rounds (a smoke run)")
    args = parser.parse_args(argv)
    sizes = "msrvtt" if args.quick else "msrvtt,vatex"
    results = {
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "torch": str(torch.__version__),
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                    "date": datetime.date.today().isoformat()},
        "eval_similarity": run_benchmark("bench.eval_similarity", "--sizes", sizes),
        "data_loading": run_benchmark("bench.data_loading", *(["--rounds", "2"] if args.quick else [])),
        "train_step": run_benchmark("bench.train_step", "--model", "tiny", "--batch_size", "32", "--frames", "12",
                                    "--steps", "10" if args.quick else "30", "--workers", "1"),
    }
    with open(os.path.join(HERE, "results.json"), "w") as handle:
        json.dump(results, handle, indent=2)
    table = markdown(results)
    with open(os.path.join(HERE, "results.md"), "w") as handle:
        handle.write(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
