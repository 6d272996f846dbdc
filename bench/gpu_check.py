"""The GPU check: on one GPU, in under 10 minutes, what a first multi-GPU run would meet first.

    bash bench/gpu_check.sh          # a clone + the wheels of `make gpu-wheels` (.whl/), nothing downloaded
    bash bench/gpu_check.sh --dry    # the same stages on the CPU at toy size (tests/test_gpu_check.py)

1. Data: a synthetic MSR-VTT-format dataset (2 captions per video), frames extracted at the
   model's resolution (preprocess/).
2. Steps (bench/gpu_check_steps.py under torchrun): P processes in a process group, P = 2 where
   two GPUs are visible, else 1 (NCCL refuses two processes on one GPU); the dry run has 2 CPU
   processes with gloo. Each of `RUNS` trains warmup + measured steps of ViT-B-32 (random weights,
   224 px, 12 frames) with the dllfa head, wrapped in DDP: the clip4clip recipe the launchers use
   (CLIP stored in fp16, BertAdam), then adamw with bf16 AMP and with fp16 AMP (GradScaler).
   Reported per run: clips/s, the step split into data / forward + backward / optimizer, peak
   memory, FLOPs per clip and MFU (formula: bench/train_step.py).
3. Launcher: scripts/train_msrvtt_9k.sh (its clip4clip recipe, random CLIP weights) with P
   processes for one epoch on the dataset, then its evaluation (model selection and the final
   test evaluation): exit status, steps, seconds and the test metrics.
Loader workers per process: the cores less one per process, at most 8, and no more than /dev/shm
holds (dataloaders/loader_workers.py; the JSON says how many).
It prints one table and writes gpu_check.json into `--output` (default $OUT, else bench/). A stage
that fails is reported with the end of its output and the check exits 1.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import torch

from bench.gpu_check_steps import write_json
from bench.train_step import prepare_data
from dataloaders.clip_reading import ClipSpec
from dataloaders.loader_workers import DEFAULT_PREFETCH_FACTOR, clip_batch_bytes, workers_that_fit
from modules.clip_backbone import clip_architecture_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = (("clip4clip", "fp32"), ("adamw", "bf16"), ("adamw", "fp16"))
# per process: model, batch, frames, measured steps, warmup steps, train videos per process, test videos
SIZES = {"gpu": dict(model="ViT-B-32", batch=32, frames=12, steps=20, warmup=5, videos=128, test_videos=64),
         "dry": dict(model="tiny", batch=4, frames=4, steps=2, warmup=1, videos=8, test_videos=8)}
STAGE_TIMEOUT = {"steps": 360, "launcher": 180}  # seconds; the whole check stays under 10 minutes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def loader_workers(size: dict, processes: int) -> int:
    """Workers per process: the cores less one per process, at most 8, as many as /dev/shm holds."""
    image_size = clip_architecture_config(size["model"])["vision_cfg"]["image_size"]
    batch = clip_batch_bytes(size["batch"], ClipSpec(size["frames"], image_size, "linspace", "normal", False))
    fitting = workers_that_fit(processes, DEFAULT_PREFETCH_FACTOR, batch)
    cores = max(1, min(8, (os.cpu_count() or 2) // processes - 1))
    return cores if fitting is None else min(cores, fitting)


def run_stage(name: str, command, env: dict, log_dir: str) -> dict:
    """Run `command`; its output goes to log_dir/<name>.log. Returns status, seconds, output tail."""
    started = time.perf_counter()
    log = os.path.join(log_dir, f"{name}.log")
    with open(log, "w") as handle:
        try:
            status = subprocess.run(command, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                    timeout=STAGE_TIMEOUT[name]).returncode
        except subprocess.TimeoutExpired:
            status = f"timed out after {STAGE_TIMEOUT[name]} s"
    with open(log) as handle:
        tail = handle.read().splitlines()[-15:]
    return {"status": status, "seconds": round(time.perf_counter() - started, 1), "log_tail": tail}


def steps_stage(size: dict, processes: int, device: str, workers: int, data, work: str, env: dict) -> dict:
    output = os.path.join(work, "steps.json")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
               "-m", "bench.gpu_check_steps", "--runs", ",".join(f"{o}:{p}" for o, p in RUNS),
               "--data_path", data[0], "--features_path", data[1], "--output", output,
               "--model", size["model"], "--batch_size", str(size["batch"] * processes),
               "--frames", str(size["frames"]), "--steps", str(size["steps"]), "--warmup", str(size["warmup"]),
               "--workers", str(workers), "--device", device]
    result = run_stage("steps", command, env, work)
    if result["status"] == 0:
        with open(output) as handle:
            result["runs"] = json.load(handle)
    return result


def launcher_stage(size: dict, processes: int, device: str, workers: int, data, work: str, env: dict) -> dict:
    output_dir = os.path.join(work, "launcher")
    env = {**env, "PYTHON": sys.executable, "DATA_ROOT": data[0], "FRAMES": data[1], "CLIP_CHECKPOINT": "",
           "CLIP_NAME": size["model"], "HEAD": "dllfa", "DEVICE": device, "GPUS_PER_NODE": str(processes),
           "MASTER_PORT": str(free_port()), "OUTPUT_DIR": output_dir}
    command = ["bash", os.path.join(REPO, "scripts", "train_msrvtt_9k.sh"), "--epochs", "1",
               "--batch_size", str(size["batch"] * processes), "--max_frames", str(size["frames"]),
               "--num_thread_reader", str(workers), "--batch_size_val", str(size["test_videos"]), "--seed", "0"]
    result = run_stage("launcher", command, env, work)
    if result["status"] == 0:
        with open(os.path.join(output_dir, "metrics.json")) as handle:
            result["metrics"] = json.load(handle)
        with open(os.path.join(output_dir, "train_steps.jsonl")) as handle:
            result["steps"] = sum(1 for _ in handle)
    return result


def _gib(value) -> str:
    return "n/a" if value is None else f"{value / 2 ** 30:.1f}"


def table(report: dict) -> str:
    lines = [f"GPU check on {report['device']} ({report['mode']}), torch {report['torch']}, {report['processes']} "
             f"process(es), {report['model']}", "",
             "| recipe | precision | batch | clips/s | s/step | data | forward+backward | optimizer | peak GiB "
             "| GFLOPs/clip | MFU |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    steps = report["steps"]
    for run in steps.get("runs", []):
        mfu = "n/a" if run["mfu"] is None else f"{100 * run['mfu']:.1f}%"
        skipped = run["steps"] - run["optimizer_steps"]  # GradScaler skips the steps whose gradients overflowed
        optimizer = f"{run['optimizer_seconds']:.3f}" + (f" ({skipped} steps skipped)" if skipped else "")
        lines.append(f"| {run['optimizer']} | {run['precision']} | {run['batch_size']} | {run['clips_per_s']:.1f} | "
                     f"{run['step_seconds']:.3f} | {run['data_seconds']:.3f} | {run['forward_backward_seconds']:.3f} | "
                     f"{optimizer} | {_gib(run['peak_memory_bytes'])} | "
                     f"{run['flops_per_clip'] / 1e9:.1f} | {mfu} |")
    if steps["status"] != 0:
        lines.append(f"| steps FAILED ({steps['status']}) | | | | | | | | | | |")
    lines += ["", "Seconds per step; batch: global. MFU = forward + backward FLOPs per clip (torch.utils.flop_counter: "
                  "2 m n k per matrix product) x clips/s per GPU / the card's dense peak for the products' dtype "
                  "(fp16 under clip4clip's fp16 CLIP)."]
    launcher = report["launcher"]
    if launcher["status"] == 0:
        t2v = launcher["metrics"]["t2v"]
        lines += ["", f"Launcher scripts/train_msrvtt_9k.sh (clip4clip, dllfa), {report['processes']} process(es): "
                      f"exit 0, {launcher['steps']} steps + evaluation in {launcher['seconds']:.0f} s; test t2v "
                      f"R@1 {t2v['R1']:.1f} R@5 {t2v['R5']:.1f} R@10 {t2v['R10']:.1f} (random weights)."]
    else:
        lines += ["", f"Launcher scripts/train_msrvtt_9k.sh FAILED ({launcher['status']}):", *launcher["log_tail"]]
    if steps["status"] != 0:
        lines += ["", f"Steps FAILED ({steps['status']}):", *steps["log_tail"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry", action="store_true", help="CPU, tiny model, a few steps: the check itself works")
    parser.add_argument("--output", default=os.environ.get("OUT") or os.path.join(REPO, "bench"),
                        help="folder for gpu_check.json (default $OUT, else bench/)")
    options = parser.parse_args(argv)
    if not options.dry and not torch.cuda.is_available():
        print("gpu_check: no CUDA device visible; `bash bench/gpu_check.sh --dry` checks the check on the CPU",
              file=sys.stderr)
        return 2
    mode = "dry" if options.dry else "gpu"
    size = SIZES[mode]
    processes = 2 if options.dry or torch.cuda.device_count() >= 2 else 1
    device = "cpu" if options.dry else "cuda"
    workers = 0 if options.dry else loader_workers(size, processes)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **({"OMP_NUM_THREADS": "1"} if options.dry else {})}
    image_size = clip_architecture_config(size["model"])["vision_cfg"]["image_size"]
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as work:
        started = time.perf_counter()
        data = prepare_data(work, image_size, size["frames"], size["videos"] * processes, size["test_videos"])
        data_seconds = time.perf_counter() - started
        report = {"mode": mode, "model": size["model"], "processes": processes, "workers_per_process": workers,
                  "torch": str(torch.__version__), "data_seconds": round(data_seconds, 1),
                  "steps": steps_stage(size, processes, device, workers, data, work, env),
                  "launcher": launcher_stage(size, processes, device, workers, data, work, env)}
    report["seconds"] = round(time.perf_counter() - started, 1)
    # read after the stages: the name opens a CUDA context in this process, which would hold GPU memory
    report["device"] = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    write_json(os.path.join(options.output, "gpu_check.json"), report)
    print(table(report))
    print(f"wrote {os.path.join(options.output, 'gpu_check.json')} ({report['seconds']:.0f} s)")
    return 0 if report["steps"]["status"] == 0 and report["launcher"]["status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
