"""`make bench`: run the benchmarks at sizes that finish in minutes on a 2-core CPU and write
results.json, results.md and optimizer_step.md into --output_dir (runs/bench; `make docs` copies
them to bench/ and pastes them into docs/performance.md and the recipe card's effective-step table).

    python -m bench.run_all [--quick] [--only optimizer_step] [--output_dir runs/bench]

Each benchmark runs in its own process with --json; its JSON is kept whole in results.json,
and the markdown files show the numbers the docs are about. `--only NAME` reruns one benchmark
and keeps the others' results from results.json.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

import torch

from bench import optimizer_step, optimizer_time
from bench.machine import cpu_name

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


def markdown(results: dict) -> str:
    machine = results["machine"]
    lines = [f"Measured by `make bench` on {machine['cpu']}, {machine['cores']} cores"
             f"{', ' + machine['gpu'] if machine['gpu'] else ', no GPU'}; torch {machine['torch']}; "
             f"{machine['date']}.", ""]
    evals = results["eval_similarity"]
    lines += ["**Evaluation scoring** (`bench/eval_similarity.py`): the pairwise part only, on cached text and "
              "video sides, D=512, T=12, L=32; floor = one `[R, D] x [D, Nv*T]` product over the R real word rows "
              "(every word is real here: R = Nt*L) in the same run.", "",
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
    if "optimizer_time" in results:  # a results.json of a run without it has none
        lines += ["", optimizer_time.markdown(results["optimizer_time"]).rstrip("\n")]
    return "\n".join(lines) + "\n"


def benchmarks(quick: bool) -> dict:
    """name -> (module, flags)."""
    sizes = "msrvtt" if quick else "msrvtt,vatex"
    return {
        "eval_similarity": ("bench.eval_similarity", ["--sizes", sizes]),
        "data_loading": ("bench.data_loading", ["--rounds", "2"] if quick else []),
        "train_step": ("bench.train_step", ["--model", "tiny", "--batch_size", "32", "--frames", "12",
                                            "--steps", "10" if quick else "30", "--workers", "1"]),
        "optimizer_step": ("bench.optimizer_step", ["--steps", "20"] if quick else []),
        "optimizer_time": ("bench.optimizer_time", ["--steps", "5"] if quick else []),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer rounds (a smoke run)")
    parser.add_argument("--only", choices=sorted(benchmarks(False)), help="rerun this benchmark only")
    parser.add_argument("--output_dir", default=os.path.join(REPO, "runs", "bench"),
                        help="where results.json, results.md and optimizer_step.md go (default: %(default)s)")
    args = parser.parse_args(argv)
    os.makedirs(args.output_dir, exist_ok=True)
    results_path = os.path.join(args.output_dir, "results.json")
    if args.only:
        if not os.path.isfile(results_path):
            raise SystemExit(f"--only keeps the other benchmarks' results from {results_path}: run them all first")
        with open(results_path) as handle:
            results = json.load(handle)
    else:
        results = {"machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "torch": str(torch.__version__),
                               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                               "date": datetime.date.today().isoformat()}}
    for name, (module, flags) in benchmarks(args.quick).items():
        if args.only in (None, name):
            results[name] = run_benchmark(module, *flags)
    with open(results_path, "w") as handle:
        json.dump(results, handle, indent=2)
    table = markdown(results)
    with open(os.path.join(args.output_dir, "results.md"), "w") as handle:
        handle.write(table)
    steps = optimizer_step.markdown(results["optimizer_step"])
    with open(os.path.join(args.output_dir, "optimizer_step.md"), "w") as handle:
        handle.write(steps)
    print(table + "\n" + steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
