"""`python -m bench.feature_level`: train every head on generated CLIP-width features, write
runs/feature_level/results.{json,md} (`make docs` copies them to bench/feature_level_results.*,
the block of docs/feature_benchmark.md).

Seeds: the world (vocabulary) from --seed, the training stream from --seed + 1, the validation
pools from --seed + 2, the test pools from --seed + 3. Develop on `--split val`; the committed
results are the test split with the defaults.

    python -m bench.feature_level                       # the full table (all heads, the attention-parts table)
    python -m bench.feature_level --heads dllfa,meanP --no_fix_table --steps 200 --split val --output runs/fl
"""
import argparse
import json
import os
import shlex
import sys
import time
from typing import Dict

import torch

from bench.feature_level.generator import World, make_pools
from bench.feature_level.probes import evaluate
from bench.feature_level.report import feature_statistics, markdown
from bench.feature_level.training import summary_of_losses, train_heads
from bench.feature_level.variants import FIX_VARIANTS, HEADS, make_head
from bench.run_all import cpu_name
from modules.retrieval_heads import RetrievalHead

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX_HEAD = "dllfa --dllfa_no_temporal"  # the head of the attention-parts table
FIX_PREFIX = "fix: "
PRINT_EVERY = 100
SPLIT_SEEDS = {"val": 2, "test": 3}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heads", default=",".join(HEADS), help=f"comma-separated, from: {', '.join(HEADS)}")
    parser.add_argument("--no_fix_table", action="store_true", help="skip the table of the attention's parts (LayerNorm, q/k start, W start)")
    parser.add_argument("--steps", type=int, default=1000, help="training steps per head")
    parser.add_argument("--batch_size", type=int, default=64, help="captions (and videos) per training step")
    parser.add_argument("--lr", type=float, default=1e-4, help="the head's learning rate (the recipe's)")
    parser.add_argument("--temporal_layers", type=int, default=1,
                        help="temporal encoder layers (seqTransf, dllfa); the recipe's 4 cost 4x the time")
    parser.add_argument("--pool", type=int, default=500, help="captions (and videos) per caption kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=sorted(SPLIT_SEEDS), default="test")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--output", default=os.path.join(REPO, "runs", "feature_level", "results"),
                        help="writes OUTPUT.json and OUTPUT.md")
    args = parser.parse_args(argv)
    unknown = [name for name in args.heads.split(",") if name not in HEADS]
    if unknown:
        parser.error(f"unknown head(s) {', '.join(unknown)}; use {', '.join(HEADS)}")
    return args


def build_heads(args) -> Dict[str, RetrievalHead]:
    """Every head asked for, then the attention-parts table's variants of FIX_HEAD ("fix: <setting>"); the
    variant that is today's head reuses FIX_HEAD's run when that head is in the table."""
    heads = {name: make_head(name, args.temporal_layers, args.seed) for name in args.heads.split(",")}
    if not args.no_fix_table:
        for setting, variant in FIX_VARIANTS.items():
            if variant is not None or FIX_HEAD not in heads:
                head = make_head(FIX_HEAD, args.temporal_layers, args.seed)
                heads[FIX_PREFIX + setting] = head if variant is None else variant(head)
    return heads


def progress(step: int, losses: Dict[str, float]) -> None:
    if step % PRINT_EVERY == 0:
        print(f"step {step}: loss " + ", ".join(f"{name} {loss:.3f}" for name, loss in losses.items()), flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.time()
    world = World(args.seed)
    pools = make_pools(world, args.seed + SPLIT_SEEDS[args.split], args.pool)
    heads = build_heads(args)
    step0 = {name: evaluate(head, pools) for name, head in heads.items()}
    logs = train_heads(heads, world, args.seed + 1, args.steps, args.lr, args.batch_size, progress)
    runs = {name: {"step0": step0[name], "trained": evaluate(head, pools), "loss": summary_of_losses(logs[name].losses),
                   "train_seconds": logs[name].seconds} for name, head in heads.items()}
    fix_variants = {} if args.no_fix_table else \
        {setting: runs.get(FIX_PREFIX + setting, runs.get(FIX_HEAD)) for setting in FIX_VARIANTS}
    results = {
        "command": shlex.join(["python", "-m", "bench.feature_level", *(sys.argv[1:] if argv is None else argv)]),
        "config": {k: v for k, v in vars(args).items() if k != "output"},
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads",
        "statistics": feature_statistics(pools),
        "heads": {name: run for name, run in runs.items() if not name.startswith(FIX_PREFIX)},
        "fix_variants": fix_variants,
        "fix_variants_uniform_share": float(pools["one_segment"].described.float().mean()),
        "wall_seconds": time.time() - started,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output + ".json", "w") as handle:
        json.dump(results, handle, indent=1)
    with open(args.output + ".md", "w") as handle:
        handle.write(markdown(results))
    print(markdown(results))
    print(f"wall time {results['wall_seconds'] / 60:.1f} min; wrote {args.output}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
