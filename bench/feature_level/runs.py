"""One training seed of the benchmark: build, train and probe every head (`run_seed`), in this
process or in a worker of its own (`run_seeds`, --jobs), each with its own torch threads.

The world and the evaluation pools come from the data seed; a training seed sets every head's
starting weights (`variants.make_head`) and the stream of training batches (TRAINING_STREAM +
seed, apart from the data seed's streams), the same for every head of that seed.
"""
import multiprocessing
from typing import Dict, List

import torch

from bench.feature_level.generator import World, make_pools
from bench.feature_level.probes import evaluate
from bench.feature_level.training import summary_of_losses, train_heads
from bench.feature_level.variants import FIX_VARIANTS, make_head
from modules.head_base import RetrievalHead

FIX_HEAD = "dllfa --dllfa_no_temporal"  # the head of the attention-parts table
FIX_PREFIX = "fix: "
PRINT_EVERY = 100
SPLIT_SEEDS = {"val": 2, "test": 3}  # the pools of a split: data seed + this
TRAINING_STREAM = 1000


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
    """{"heads": name -> {step0, trained, loss, train_seconds}, "fix_variants": setting -> the same (or {})}
    for one training seed. `config`: heads (comma-separated), temporal_layers, steps, lr, batch_size, pool,
    data_seed, split, threads."""
    if config["threads"]:
        torch.set_num_threads(config["threads"])
    world = World(config["data_seed"])
    pools = make_pools(world, config["data_seed"] + SPLIT_SEEDS[config["split"]], config["pool"])
    heads = build_heads(config["heads"].split(","), config["temporal_layers"], seed, fix_table)
    step0 = {name: evaluate(head, pools) for name, head in heads.items()}

    def progress(step: int, losses: Dict[str, float]) -> None:
        if step % PRINT_EVERY == 0:
            print(f"seed {seed} step {step}: loss " + ", ".join(f"{n} {loss:.3f}" for n, loss in losses.items()),
                  flush=True)

    logs = train_heads(heads, world, TRAINING_STREAM + seed, config["steps"], config["lr"], config["batch_size"], progress)
    runs = {name: {"step0": step0[name], "trained": evaluate(head, pools), "loss": summary_of_losses(logs[name].losses),
                   "train_seconds": logs[name].seconds} for name, head in heads.items()}
    fix_variants = {setting: runs.get(FIX_PREFIX + setting, runs.get(FIX_HEAD)) for setting in FIX_VARIANTS} \
        if fix_table else {}
    return {"heads": {name: run for name, run in runs.items() if not name.startswith(FIX_PREFIX)},
            "fix_variants": fix_variants}


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
