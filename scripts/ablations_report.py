"""The ablation table of `make ablations` (scripts/ablations.sh): every head on the pixel demo and
on the feature-level benchmark, side by side, each number a mean ± standard deviation over seeds.

    python -m scripts.ablations_report --runs runs/ablations --feature_results runs/feature_level/results.json \
        --heads meanP ... --pixel_seconds S

Reads <runs>/seeds.json (scripts/demo_seeds_report.py: the pixel demo over its training seeds) and the
feature benchmark's results (python -m bench.feature_level: means with `<name>_std`), writes
<runs>/ablations.md and prints it. A head of scripts/demo_heads.py is found in the feature benchmark
under its flags without `--sim_header` ("dllfa --dllfa_levels frame"), the benchmark's names.
"""
import argparse
import json
import os
import sys

from modules.metrics import format_mean_std
from scripts.demo_heads import DEMO_HEADS
from scripts.demo_report import minutes
from scripts.demo_seeds_report import COLUMNS, cell

PIXEL_COLUMNS = ("one_event_R1", "sequence_R1", "order_contrast", "one_event_order_contrast", "swap_contrast",
                 "direction_contrast")  # of scripts/demo_seeds_report.py
FEATURE_KINDS = {"one_segment": "features R@1 one-segment", "multi_segment": "features R@1 multi-segment",
                 "order": "features R@1 order"}


def feature_name(head: str) -> str:
    """The feature benchmark's name of a demo head: its flags without `--sim_header`."""
    return " ".join(DEMO_HEADS[head][1:])


def feature_cells(feature: dict, head: str) -> list:
    trained = feature["heads"].get(feature_name(head), {}).get("trained")
    if not trained:
        return ["not run"] * (len(FEATURE_KINDS) + 1)
    cells = [format_mean_std(trained[kind]["retrieval"]["R1"], trained[kind]["retrieval"]["R1_std"], 1)
             for kind in FEATURE_KINDS]
    order = trained["order"]["retrieval"]
    return cells + [format_mean_std(order["order_contrast"], order["order_contrast_std"], 3)]


def feature_pools(config: dict) -> str:
    """How many pools of its split each feature-benchmark number averages."""
    count = config["pools"]
    return "" if count == 1 else f", each number the mean over {count} {config['split']} pools"


def markdown(pixel: dict, feature: dict, heads, pixel_seconds: int) -> str:
    seeds = pixel["seeds"]
    feature_seeds = feature["config"]["seeds"]
    lines = [f"`make ablations` (`scripts/ablations.sh`): the pixel demo with every head over training seeds "
             f"{', '.join(map(str, seeds))} ({minutes(pixel_seconds)}), and `{feature['command']}` "
             f"({minutes(feature['wall_seconds'])}, training seeds {', '.join(map(str, feature_seeds))}"
             f"{feature_pools(feature['config'])}). Every number is the mean ± standard deviation over the seeds. Pixel demo: text-to-video R@1 per caption "
             "kind, order contrast (all captions / one-event captions), swap and direction contrast; feature "
             "benchmark: R@1 per caption kind and order contrast. Both count ties shared (a video tied at the top "
             "with its twin is half a hit). Chance for the contrasts is 0.5.", "",
             "| head | flags | " + " | ".join(f"pixel {COLUMNS[column][0]}" for column in PIXEL_COLUMNS) + " | "
             + " | ".join(FEATURE_KINDS.values()) + " | features order contrast |",
             "|---|---|" + "---:|" * (len(PIXEL_COLUMNS) + len(FEATURE_KINDS) + 1)]
    for head in heads:
        row = pixel["heads"][head]
        cells = [cell(row[column], column, with_seeds=False) for column in PIXEL_COLUMNS]
        cells += feature_cells(feature, head)
        lines.append(f"| {head} | `{' '.join(DEMO_HEADS[head])}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="runs/ablations")
    parser.add_argument("--feature_results", default="runs/feature_level/results.json")
    parser.add_argument("--heads", nargs="+", required=True, choices=list(DEMO_HEADS))
    parser.add_argument("--pixel_seconds", type=int, required=True)
    args = parser.parse_args(argv)
    with open(os.path.join(args.runs, "seeds.json")) as handle:
        pixel = json.load(handle)
    with open(args.feature_results) as handle:
        feature = json.load(handle)
    table = markdown(pixel, feature, args.heads, args.pixel_seconds)
    with open(os.path.join(args.runs, "ablations.md"), "w") as handle:
        handle.write(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
