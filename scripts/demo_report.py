"""Summarise the demo runs: one table (printed, <runs>/summary.md, summary.json) and the figures.

    python -m scripts.demo_report --runs runs/demo --heads dllfa meanP seqTransf [--img img]

Reads each head's run folder (metrics.json, config.json, checkpoint_best.pt, and <runs>/wall_seconds.txt
written by scripts/demo.sh). summary.json holds, per head, exactly the text-to-video metrics of the
test split and per caption kind:

    {"heads": {"<head>": {"R1", "R5", "R10", "MdR", "MnR", "order_contrast",
                          "by_caption_kind": {"one_event": {same keys}, "sequence": {same keys}}}},
     "swap_contrast": {"<head>": ...}, "direction_contrast": {"<head>": ...},
     "attention_on_described_event": {"<head>": ...},
     "flags": {"<head>": "--sim_header ..."}, "test_split": {...}, "wall_seconds": {"<head>": ...}}

The table adds, for heads that attend over frames, where their attention goes for one-event
captions: the mass on the described event's frames against the uniform share
(`scripts/demo_attention.py`). The figures: `scripts/demo_figures.py`.
"""
import argparse
import json
import os
import sys

from scripts.demo_attention import attention_on_described_event
from scripts.demo_figures import plot_architecture, plot_attention, plot_curves
from scripts.demo_heads import DEMO_HEADS

METRICS = ("R1", "R5", "R10", "MdR", "MnR", "order_contrast")
KINDS = ("one_event", "sequence")
OTHER_CONTRASTS = ("swap_contrast", "direction_contrast")  # against the event-swapped and events-reversed twins
KIND_NAMES = {"one_event": "one-event", "sequence": "sequence"}


def minutes(seconds: float) -> str:
    """A wall time as "M min S s"."""
    return f"{int(seconds) // 60} min {int(seconds) % 60} s"


def read_metrics(runs: str, head: str) -> dict:
    with open(os.path.join(runs, head, "metrics.json")) as handle:
        return json.load(handle)


def head_summary(report: dict) -> dict:
    """The head's entry of summary.json: test metrics overall and per caption kind."""
    def pick(metrics: dict, contrasts: dict) -> dict:
        return {**{key: metrics[key] for key in METRICS[:5]}, "order_contrast": contrasts["order_contrast"]}

    return {**pick(report["t2v"], report),
            "by_caption_kind": {kind: pick(report["by_caption_kind"][kind], report["by_caption_kind"][kind])
                                for kind in KINDS}}


def read_wall_seconds(runs: str) -> dict:
    path = os.path.join(runs, "wall_seconds.txt")
    if not os.path.isfile(path):
        return {}
    with open(path) as handle:
        return {head: int(seconds) for head, seconds in (line.split() for line in handle if line.strip())}


def summary(runs: str, heads) -> dict:
    reports = {head: read_metrics(runs, head) for head in heads}
    first = next(iter(reports.values()))
    return {"heads": {head: head_summary(report) for head, report in reports.items()},
            **{contrast: {head: report[contrast] for head, report in reports.items()} for contrast in OTHER_CONTRASTS},
            "attention_on_described_event": {head: attention for head in heads
                                             if (attention := attention_on_described_event(os.path.join(runs, head)))},
            "flags": {head: " ".join(DEMO_HEADS[head]) for head in heads},
            "test_split": {"n_captions": first["n_captions"], "n_videos": first["n_videos"],
                           "captions_per_kind": {kind: first["by_caption_kind"][kind]["n_captions"] for kind in KINDS}},
            "wall_seconds": read_wall_seconds(runs)}


def markdown(content: dict) -> str:
    split = content["test_split"]
    kinds = ", ".join(f"{n} {KIND_NAMES[kind]}" for kind, n in split["captions_per_kind"].items())
    lines = [f"Text-to-video on the synthetic test split ({split['n_captions']} captions x {split['n_videos']} videos; "
             f"{kinds} captions). Order contrast: share of captions whose video outscores its time-reversed twin "
             "(all captions, and the one-event ones); swap and direction contrast: the same against the event-swapped "
             "and the events-reversed twin (sequence captions of the videos in quads); chance is 0.5. Ties count shared "
             "(docs/evaluation.md): a video tied at the top with its twin, whose frames are the same, is half a hit.", "",
             "| head | R@1 | R@5 | R@10 | MdR | MnR | R@1 one-event | R@1 sequence | order contrast "
             "| order contrast one-event | swap contrast | direction contrast |", "|---|" + "---:|" * 11]
    for head, row in content["heads"].items():
        kinds = row["by_caption_kind"]
        cells = ([f"{row[key]:.1f}" for key in METRICS[:5]] + [f"{kinds[kind]['R1']:.1f}" for kind in KINDS]
                 + [f"{row['order_contrast']:.3f}", f"{kinds['one_event']['order_contrast']:.3f}"]
                 + [f"{content[contrast][head]:.3f}" for contrast in OTHER_CONTRASTS])
        lines.append(f"| {head} | " + " | ".join(cells) + " |")
    ablations = [f"{head}: `{flags}`" for head, flags in content["flags"].items() if len(DEMO_HEADS[head]) > 2]
    if ablations:
        lines += ["", "Ablations: " + "; ".join(ablations) + "."]
    attention = content["attention_on_described_event"]
    if attention:
        parts = [f"{head} " + ", ".join(f"{level} {values['mass']:.2f}" for level, values in levels.items())
                 for head, levels in attention.items()]
        uniform = next(iter(next(iter(attention.values())).values()))["uniform"]
        lines += ["", "Attention on the described event for one-event test captions (mean share of the attention "
                  f"over the video's frames that falls on the event's frames; uniform attention gives {uniform:.2f}; "
                  "sentence = frame level, words = token level, mean over the caption's words): " + "; ".join(parts)
                  + "."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="runs/demo")
    parser.add_argument("--heads", nargs="+", default=["dllfa", "meanP", "seqTransf"], choices=list(DEMO_HEADS))
    parser.add_argument("--img", default="runs/demo/img", help="folder for the figures")
    args = parser.parse_args(argv)
    content = summary(args.runs, args.heads)
    table = markdown(content)
    with open(os.path.join(args.runs, "summary.md"), "w") as handle:
        handle.write(table)
    with open(os.path.join(args.runs, "summary.json"), "w") as handle:
        json.dump(content, handle, indent=2)
    print(table)
    for head, seconds in content["wall_seconds"].items():
        print(f"{head}: trained and evaluated in {minutes(seconds)}")
    os.makedirs(args.img, exist_ok=True)
    plot_curves(args.runs, args.heads, os.path.join(args.img, "demo_curves.png"))
    if "dllfa" in args.heads:
        plot_attention(os.path.join(args.runs, "dllfa"), os.path.join(args.img, "demo_attention.png"))
        plot_architecture(os.path.join(args.runs, "dllfa"), os.path.join(args.img, "dllfa_architecture.png"))
    print(f"summary: {os.path.join(args.runs, 'summary.md')}, figures: {args.img}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
