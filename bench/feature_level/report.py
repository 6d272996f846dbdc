"""The results of `python -m bench.feature_level` as markdown (docs/feature_benchmark.md block) from its JSON."""
from typing import Dict, List

import torch

from bench.feature_level.generator import KINDS, FeatureBatch, unit
from modules.metrics import format_mean_std

KIND_TITLES = {"one_segment": "one-segment", "multi_segment": "multi-segment", "order": "order"}


def feature_statistics(pools: Dict[str, FeatureBatch]) -> Dict[str, float]:
    """Mean cosines of the generated features over all pools: what 'CLIP-like' came out as."""
    frames = unit(torch.cat([pool.frames for pool in pools.values()]))  # [N, T, D]
    segment = torch.cat([pool.segment for pool in pools.values()])  # [N, T]
    gram = torch.einsum("ntd,nsd->nts", frames, frames)  # [N, T, T]
    off_diagonal = ~torch.eye(frames.shape[1], dtype=torch.bool)
    same_segment = (segment[:, :, None] == segment[:, None]) & off_diagonal  # [N, T, T]
    first = frames[:, 0]  # [N, D]
    across = first @ first.T
    own = {"described": [], "other": []}
    for pool in pools.values():
        pooled = unit(pool.frames)
        cos = torch.einsum("nd,ntd->nt", pool.sentence, pooled)  # [N, T] caption and its own video
        own["described"].append(cos[pool.described])
        own["other"].append(torch.einsum("nd,mtd->nm", pool.sentence, pooled).div(pool.frames.shape[1])
                            [~torch.eye(len(cos), dtype=torch.bool)])
    return {"frames_of_a_video": float(gram[:, off_diagonal].mean()),
            "frames_of_a_segment": float(gram[same_segment].mean()),
            "frames_of_two_videos": float(across[~torch.eye(len(first), dtype=torch.bool)].mean()),
            "caption_and_its_described_frames": float(torch.cat(own["described"]).mean()),
            "caption_and_other_videos_frames": float(torch.cat(own["other"]).mean())}


def _with_spread(entry: dict, key: str, digits: int) -> str:
    """"mean ± std" of a result combined over seeds (bench/feature_level/seeds.py)."""
    return format_mean_std(entry[key], entry[key + "_std"], digits)


def _r1(entry: dict) -> str:
    text = _with_spread(entry["retrieval"], "R1", 1)
    if "uniform_attention" in entry:
        text += f" ({_with_spread(entry['uniform_attention'], 'R1', 1)})"
    return text


def _mass(entry: dict, level: str) -> str:
    stats = entry["attention"].get(level)
    return "" if stats is None else f"{_with_spread(stats, 'mass', 2)} / {stats['uniform']:.2f}"


def _spread_and_mass(start: dict, end: dict, level: str) -> str:
    a, b = start["attention"].get(level), end["attention"].get(level)
    if a is None:
        return ""
    return f"{a['spread']:.4f} / {a['mass']:.3f} -> {b['spread']:.4f} / {b['mass']:.3f}"


def _pools(config: dict) -> str:
    size = f"{config['pool']} captions x {config['pool']} videos per kind"
    count = config["pools"]
    if count == 1:
        return f"the {config['split']} pools ({size})"
    return (f"{count} {config['split']} pools of {size} (streams {', '.join(map(str, config['pool_seeds']))}; "
            "every number the mean over the pools)")


def _per_pool_table(results: dict) -> List[str]:
    """R@1 of each head on each pool, mean over the training seeds: is a gap between two heads the same on
    every pool, or one pool's draw?"""
    seeds = results["config"]["pool_seeds"]
    lines = ["", f"**R@1 on each pool** (streams {' / '.join(map(str, seeds))}; the first is the split's own pool), "
             "mean over the training seeds:", "",
             "| head | " + " | ".join(KIND_TITLES[kind] for kind in KINDS) + " | order contrast |", "|---|" + "---:|" * 4]
    for name, run in results["heads"].items():
        pools = run["per_pool"]
        cells = [" / ".join(f"{pool[kind]['retrieval']['R1']:.1f}" for pool in pools) for kind in KINDS]
        cells.append(" / ".join(f"{pool['order']['retrieval']['order_contrast']:.3f}" for pool in pools))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def markdown(results: dict) -> str:
    config, stats = results["config"], results["statistics"]
    seeds = config["seeds"]
    lines: List[str] = [
        f"`{results['command']}`: {len(results['heads'])} heads"
        + (f" and {len(results['fix_variants'])} variants of the attention's parts" if results["fix_variants"] else "")
        + f", each trained with {len(seeds)} training seed(s) ({', '.join(map(str, seeds))}) for {config['steps']} steps of {config['batch_size']} captions at lr {config['lr']:g} "
        f"(temporal encoder: {config['temporal_layers']} layer(s)), evaluated on {_pools(config)}; wall time {results['wall_seconds'] / 60:.1f} min "
        f"on {results['machine']} (a shared machine).", "",
        f"Generated features: frames of one video at cosine {stats['frames_of_a_video']:.2f} (of one segment "
        f"{stats['frames_of_a_segment']:.2f}), of two videos "
        f"{stats['frames_of_two_videos']:.2f}; a caption and the frames it describes "
        f"{stats['caption_and_its_described_frames']:.2f}, and the frames of other videos "
        f"{stats['caption_and_other_videos_frames']:.2f}.", "",
        "**Retrieval**: text-to-video R@1 per caption kind, mean ± standard deviation over the training seeds "
        "(the same pools for every seed; ties shared: a video tied with its twin counts "
        "one half); in brackets the same trained model with its attention forced uniform (query maps "
        "zeroed). Order contrast: share of order captions whose video outscores its time-reversed twin "
        "(0.5 = chance).", "",
        "| head | one-segment | multi-segment | order | order contrast | training min |", "|---|---:|---:|---:|---:|---:|"]
    for name, run in results["heads"].items():
        trained = run["trained"]
        lines.append(f"| {name} | " + " | ".join(_r1(trained[kind]) for kind in KINDS)
                     + f" | {_with_spread(trained['order']['retrieval'], 'order_contrast', 3)} | {run['train_seconds'] / 60:.1f} |")
    if any("per_pool" in run for run in results["heads"].values()):
        lines += _per_pool_table(results)
    lines += ["", "**Attention** of each caption over its own video after training: mass on the described "
              "segment(s) (sentence) or on the word's own segment (content words), mean ± std over the seeds / the "
              "uniform share.", "",
              "| head | " + " | ".join(f"sentence, {KIND_TITLES[k]}" for k in KINDS) + " | "
              + " | ".join(f"words, {KIND_TITLES[k]}" for k in KINDS) + " |", "|---|" + "---:|" * 6]
    for name, run in results["heads"].items():
        trained = run["trained"]
        if any(trained[kind]["attention"] for kind in KINDS):
            lines.append(f"| {name} | " + " | ".join(_mass(trained[k], "sentence") for k in KINDS) + " | "
                         + " | ".join(_mass(trained[k], "words") for k in KINDS) + " |")
    if results["fix_variants"]:
        lines += ["", "**The attention's LayerNorm and starting values, one at a time** (`dllfa --dllfa_no_temporal`, lr 1e-4, one-segment "
                  f"captions, training seed {results['fix_variants_seed']} only): logit spread / mass on the own segment at "
                  "step 0 -> after training "
                  f"(uniform share {results['fix_variants_uniform_share']:.3f}), and R@1 of the trained model "
                  "against the same model with uniform attention.", "",
                  "| setting | sentence: spread / mass | content words: spread / mass | R@1 | R@1, uniform attention |",
                  "|---|---|---|---:|---:|"]
        for name, run in results["fix_variants"].items():
            start, end = run["step0"]["one_segment"], run["trained"]["one_segment"]
            lines.append(f"| {name} | {_spread_and_mass(start, end, 'sentence')} | "
                         f"{_spread_and_mass(start, end, 'words')} | {end['retrieval']['R1']:.1f} | "
                         f"{end['uniform_attention']['R1']:.1f} |")
    return "\n".join(lines) + "\n"
