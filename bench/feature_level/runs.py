"""One training seed of the benchmark: build, train and probe every head (`run_seed`), in this
process or in a worker of its own (`run_seeds`, --jobs), each with its own torch threads.

The world and the evaluation pools come from the data seed; a training seed sets every head's
starting weights (`variants.make_head`) and the stream of training batches (TRAINING_STREAM +
seed, apart from the data seed's streams), the same for every head of that seed. A split has
`pools` evaluation pools (`pool_seeds`): the first is the split's own (data seed + SPLIT_SEEDS), the
others POOL_STRIDE apart (a training seed whose stream would be one of them is refused: __main__);
each head is probed on every pool and its numbers are the mean over the pools.
"""
import multiprocessing
from typing import Dict, List

import torch

from bench.feature_level.generator import World, make_pools
from bench.feature_level.probes import evaluate
from bench.feature_level.seeds import combine
from bench.feature_level.training import summary_of_losses, train_heads
from bench.feature_level.variants import FIX_VARIANTS, make_head
from modules.head_base import RetrievalHead

FIX_HEAD = "dllfa --dllfa_no_temporal"  # the head of the attention-parts table
FIX_PREFIX = "fix: "
PRINT_EVERY = 100
SPLIT_SEEDS = {"val": 2, "test": 3}  # the pools of a split: data seed + this
TRAINING_STREAM = 1000
POOL_STRIDE = 10_000


def pool_seeds(data_seed: int, split: str, count: int) -> List[int]:
    """The streams of a split's `count` evaluation pools; the first is the split's own."""
    return [data_seed + SPLIT_SEEDS[split] + index * POOL_STRIDE for index in range(count)]


def split_pools(world: World, config: dict) -> List[dict]:
    """The split's evaluation pools (`config`: data_seed, split, pools, pool), each {kind: FeatureBatch}."""
    return [make_pools(world, seed, config["pool"]) for seed in pool_seeds(config["data_seed"], config["split"], config["pools"])]


def evaluate_on_pools(head: RetrievalHead, pools: List[dict]) -> List[dict]:
    """`probes.evaluate` on each pool."""
    return [evaluate(head, pool) for pool in pools]


def build_heads(names: List[str], temporal_layers: int, seed: int, fix_table: bool) -> Dict[str, RetrievalHead]:
    """Every head asked for, then (`fix_table`) the attention-parts table's variants of FIX_HEAD
    ("fix: <setting>"); the variant that is today's head reuses FIX_HEAD's run when that head is asked for."""
    heads = {name: make_head(name, temporal_layers, seed) for name in names}
    if fix_table:
        for setting, variant in FIX_VARIANTS.items():
            if variant is not None or FIX_HEAD not in heads:
                head = make_head(FIX_HEAD, temporal_layers, seed)
                heads[FIX_PREFIX + setting] = head if variant is None else variant(head)
    return heads


def run_seed(config: dict, seed: int, fix_table: bool) -> dict:
    """{"heads": name -> {step0, trained, per_pool, loss, train_seconds}, "fix_variants": setting -> the same
    (or {})} for one training seed; step0 and trained are the means over the pools, per_pool the trained
    head's probes on each. `config`: heads (comma-separated), temporal_layers, steps, lr, batch_size, pool,
    pools, data_seed, split, threads."""
    if config["threads"]:
        torch.set_num_threads(config["threads"])
    world = World(config["data_seed"])
    pools = split_pools(world, config)
    heads = build_heads(config["heads"].split(","), config["temporal_layers"], seed, fix_table)
    step0 = {name: combine(evaluate_on_pools(head, pools), with_std=False) for name, head in heads.items()}

    def progress(step: int, losses: Dict[str, float]) -> None:
        if step % PRINT_EVERY == 0:
            print(f"seed {seed} step {step}: loss " + ", ".join(f"{n} {loss:.3f}" for n, loss in losses.items()),
                  flush=True)

    logs = train_heads(heads, world, TRAINING_STREAM + seed, config["steps"], config["lr"], config["batch_size"], progress)
    runs = {}
    for name, head in heads.items():
        per_pool = evaluate_on_pools(head, pools)
        runs[name] = {"step0": step0[name], "trained": combine(per_pool, with_std=False), "per_pool": per_pool,
                      "loss": summary_of_losses(logs[name].losses), "train_seconds": logs[name].seconds}
    fix_variants = {setting: _without_pools(runs.get(FIX_PREFIX + setting, runs.get(FIX_HEAD)))
                    for setting in FIX_VARIANTS} if fix_table else {}
    return {"heads": {name: run for name, run in runs.items() if not name.startswith(FIX_PREFIX)},
            "fix_variants": fix_variants}


def _without_pools(run: dict) -> dict:
    return {key: value for key, value in run.items() if key != "per_pool"}


def _run_seed_job(job: tuple) -> dict:
    return run_seed(*job)


def processes(jobs: int, seeds: List[int]) -> int:
    """How many processes `run_seeds` trains in: at most one per seed, at least one."""
    return max(1, min(jobs, len(seeds)))


def run_seeds(config: dict, seeds: List[int], fix_table: bool, jobs: int = 1) -> List[dict]:
    """`run_seed` for every seed (the attention-parts table with the first seed only), in order; in this
    process, or in `processes(jobs, seeds)` spawned ones (a fresh interpreter each: no thread pool is inherited)."""
    work = [(config, seed, fix_table and index == 0) for index, seed in enumerate(seeds)]
    if processes(jobs, seeds) == 1:
        return [_run_seed_job(job) for job in work]
    with multiprocessing.get_context("spawn").Pool(processes(jobs, seeds)) as pool:
        return pool.map(_run_seed_job, work, chunksize=1)
