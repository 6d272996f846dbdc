"""`python -m bench.feature_level`: train every head on generated CLIP-width features over several
training seeds, write runs/feature_level/results.{json,md} (`make docs` copies them to
bench/feature_level_results.*, the block of docs/feature_benchmark.md).

Seeds: the world (vocabulary) from --data_seed, the validation pools from --data_seed + 2, the test
pools from --data_seed + 3 and three more streams (--pools, 4; every number the mean over the pools,
`per_pool` keeping each); each training seed of --seeds sets the heads' starting weights and the
training stream (bench/feature_level/runs.py). Every number of the results is the mean over the
training seeds with `<name>_std` beside it (bench/feature_level/seeds.py) and `per_seed` keeps each
seed's own; the attention-parts table is trained with the first seed only. Develop on `--split val`;
the committed results are the test split with the defaults.

    python -m bench.feature_level --jobs 2 --threads 1  # the full table on 2 cores (all heads, 3 seeds, the attention-parts table)
    python -m bench.feature_level --heads dllfa,meanP --no_fix_table --seeds 0 --steps 200 --split val --pools 1 --output runs/fl
"""
import argparse
import json
import os
import shlex
import sys
import time

import torch

from bench.feature_level.generator import World
from bench.feature_level.report import feature_statistics, markdown
from bench.feature_level.runs import SPLIT_SEEDS, TRAINING_STREAM, pool_seeds, processes, run_seeds, split_pools
from bench.feature_level.seeds import combine
from bench.feature_level.variants import DEFAULT_HEADS, HEADS
from bench.run_all import cpu_name

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heads", default=",".join(DEFAULT_HEADS), help=f"comma-separated, from: {', '.join(HEADS)}")
    parser.add_argument("--no_fix_table", action="store_true", help="skip the table of the attention's parts (LayerNorm, q/k start, W start)")
    parser.add_argument("--steps", type=int, default=1000, help="training steps per head")
    parser.add_argument("--batch_size", type=int, default=64, help="captions (and videos) per training step")
    parser.add_argument("--lr", type=float, default=1e-4, help="the head's learning rate (the recipe's)")
    parser.add_argument("--temporal_layers", type=int, default=1,
                        help="temporal encoder layers (seqTransf, dllfa); the recipe's 4 cost 4x the time")
    parser.add_argument("--pool", type=int, default=500, help="captions (and videos) per caption kind")
    parser.add_argument("--pools", type=int, default=4,
                        help="evaluation pools of the split, each of --pool captions per kind; numbers are the mean over them")
    parser.add_argument("--data_seed", type=int, default=0, help="the world and the evaluation pools")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds (starting weights, training stream)")
    parser.add_argument("--split", choices=sorted(SPLIT_SEEDS), default="test")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once, each in a process of its own")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per process (default: torch's choice)")
    parser.add_argument("--output", default=os.path.join(REPO, "runs", "feature_level", "results"),
                        help="writes OUTPUT.json and OUTPUT.md")
    args = parser.parse_args(argv)
    unknown = [name for name in args.heads.split(",") if name not in HEADS]
    if unknown:
        parser.error(f"unknown head(s) {', '.join(unknown)}; use {', '.join(HEADS)}")
    if args.pools < 1:
        parser.error(f"--pools must be at least 1, got {args.pools}")
    try:
        args.seed_list = [int(seed) for seed in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    pools = {seed for split in SPLIT_SEEDS for seed in pool_seeds(args.data_seed, split, args.pools)}
    clash = [seed for seed in args.seed_list if TRAINING_STREAM + seed in pools]
    if clash:
        parser.error(f"training seed(s) {', '.join(map(str, clash))} would train on an evaluation pool's stream "
                     f"({TRAINING_STREAM} + seed = {', '.join(str(TRAINING_STREAM + seed) for seed in clash)}); choose others")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.time()
    config = {k: v for k, v in vars(args).items() if k not in ("output", "seed_list")}
    per_seed = run_seeds(config, args.seed_list, not args.no_fix_table, args.jobs)
    first_pool = split_pools(World(args.data_seed), {**config, "pools": 1})[0]
    fix_variants = per_seed[0]["fix_variants"]
    per_pool = {name: [run["heads"][name].pop("per_pool") for run in per_seed] for name in per_seed[0]["heads"]}
    heads = combine([run["heads"] for run in per_seed])
    for name in heads:
        heads[name]["per_seed"] = {str(seed): run["heads"][name]["trained"] for seed, run in zip(args.seed_list, per_seed)}
        if args.pools > 1:  # each pool's numbers, mean ± std over the seeds
            heads[name]["per_pool"] = [combine([seed_pools[index] for seed_pools in per_pool[name]])
                                       for index in range(args.pools)]
    results = {
        "command": shlex.join(["python", "-m", "bench.feature_level", *(sys.argv[1:] if argv is None else argv)]),
        "config": {**config, "seeds": args.seed_list,
                   "pool_seeds": pool_seeds(args.data_seed, args.split, args.pools)},
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, "
                   f"{args.threads or torch.get_num_threads()} threads x {processes(args.jobs, args.seed_list)} process(es)",
        "statistics": feature_statistics(first_pool),
        "heads": heads,
        "fix_variants": fix_variants,
        "fix_variants_seed": args.seed_list[0],
        # uniform attention's mass on the described segment, averaged over the pools as the table's masses are
        "fix_variants_uniform_share": next(iter(fix_variants.values()))["step0"]["one_segment"]["attention"]
        ["sentence"]["uniform"] if fix_variants else None,
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
