"""The ablation table of `make ablations` (scripts/ablations.sh): every head on the pixel demo and
on the feature-level benchmark, side by side, with the commands and their wall times.

    python -m scripts.ablations_report --runs runs/ablations --heads meanP ... --pixel_seconds S --feature_seconds S

Reads <runs>/summary.json (scripts/demo_report.py) and <runs>/feature_level.json (python -m
bench.feature_level --output <runs>/feature_level), writes <runs>/ablations.md and prints it. A head
of scripts/demo_heads.py is found in the feature benchmark under its flags without `--sim_header`
("dllfa --dllfa_levels frame"), the benchmark's names.
"""
import argparse
import json
import os
import sys

from scripts.demo_heads import DEMO_HEADS
from scripts.demo_report import minutes

FEATURE_KINDS = ("one_segment", "multi_segment", "order")


def feature_name(head: str) -> str:
    """The feature benchmark's name of a demo head: its flags without `--sim_header`."""
    return " ".join(DEMO_HEADS[head][1:])


def markdown(pixel: dict, feature: dict, heads, pixel_seconds: int, feature_seconds: int) -> str:
    split = pixel["test_split"]
    lines = [f"`make ablations` (`scripts/ablations.sh`): the pixel demo with every head ({minutes(pixel_seconds)}, "
             f"{split['n_captions']} test captions x {split['n_videos']} videos), then "
             f"`{feature['command']}` ({minutes(feature_seconds)}). Pixel demo: text-to-video R@1 "
             "per caption kind, order contrast (all captions / one-event captions), swap and direction contrast; "
             "feature "
             "benchmark: R@1 per caption kind (its ties count one half) and order contrast. Chance for the "
             "contrasts is 0.5.", "",
             "| head | flags | pixel R@1 one-event | pixel R@1 sequence | pixel order contrast | pixel order "
             "contrast one-event | pixel swap contrast | pixel direction contrast | features R@1 one-segment "
             "| features R@1 multi-segment | features R@1 order | features order contrast |", "|---|---|" + "---:|" * 10]
    for head in heads:
        row, kinds = pixel["heads"][head], pixel["heads"][head]["by_caption_kind"]
        cells = [f"{kinds['one_event']['R1']:.1f}", f"{kinds['sequence']['R1']:.1f}", f"{row['order_contrast']:.3f}",
                 f"{kinds['one_event']['order_contrast']:.3f}", f"{pixel['swap_contrast'][head]:.3f}",
                 f"{pixel['direction_contrast'][head]:.3f}"]
        trained = feature["heads"].get(feature_name(head), {}).get("trained")
        cells += ([f"{trained[kind]['retrieval']['R1']:.1f}" for kind in FEATURE_KINDS]
                  + [f"{trained['order']['retrieval']['order_contrast']:.3f}"] if trained else ["not run"] * 4)
        lines.append(f"| {head} | `{' '.join(DEMO_HEADS[head])}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="runs/ablations")
    parser.add_argument("--heads", nargs="+", required=True, choices=list(DEMO_HEADS))
    parser.add_argument("--pixel_seconds", type=int, required=True)
    parser.add_argument("--feature_seconds", type=int, required=True)
    args = parser.parse_args(argv)
    with open(os.path.join(args.runs, "summary.json")) as handle:
        pixel = json.load(handle)
    with open(os.path.join(args.runs, "feature_level.json")) as handle:
        feature = json.load(handle)
    table = markdown(pixel, feature, args.heads, args.pixel_seconds, args.feature_seconds)
    with open(os.path.join(args.runs, "ablations.md"), "w") as handle:
        handle.write(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
