"""Collect the metrics.json of several runs into one markdown table.

    python -m scripts.collect_metrics runs/*/metrics.json [--output table.md]

A row per file: the run folder, its head (from the run's config.json), dataset and split,
text-to-video and video-to-text R@1/R@5/R@10/MdR/MnR, order-contrast accuracy when the
evaluation had one, and the model selection that chose the evaluated epoch ("test" marks numbers
whose epoch was chosen on the test split itself). Dual-softmax numbers, when present, get rows
of their own.
"""
import argparse
import json
import os
import sys

COLUMNS = ["run", "head", "data", "t2v R@1", "R@5", "R@10", "MdR", "MnR",
           "v2t R@1", "R@5", "R@10", "MdR", "MnR", "order contrast", "selected on"]


def _direction_cells(metrics):
    return [f"{metrics['R1']:.1f}", f"{metrics['R5']:.1f}", f"{metrics['R10']:.1f}",
            f"{metrics['MdR']:.1f}", f"{metrics['MnR']:.1f}"]


def selection_cell(report) -> str:
    """How the evaluated epoch was chosen (metrics.json "selection"), e.g. "holdout_val (500 videos),
    epoch 3" or "last epoch (5)"; empty when the file does not say."""
    selection = report.get("selection")
    if not selection:
        return ""
    if selection["rule"] == "last_epoch":
        return f"last epoch ({selection['epoch']})"
    return f"{selection['split']} ({selection['n_videos']} videos), epoch {selection['epoch']}"


def table_rows(path: str):
    with open(path) as handle:
        report = json.load(handle)
    run_dir = os.path.dirname(os.path.abspath(path))
    config_path = os.path.join(run_dir, "config.json")
    head = "?"
    if os.path.isfile(config_path):
        with open(config_path) as handle:
            head = json.load(handle).get("sim_header", "?")
    data = f"{report['dataset']} {report['split']}"
    order = f"{report['order_contrast']:.3f}" if "order_contrast" in report else ""
    name = os.path.basename(run_dir)
    selected = selection_cell(report)
    yield [name, head, data, *_direction_cells(report["t2v"]), *_direction_cells(report["v2t"]), order, selected]
    if "dual_softmax" in report:
        ds = report["dual_softmax"]
        yield [name + " (dual softmax)", head, data, *_direction_cells(ds["t2v"]), *_direction_cells(ds["v2t"]), "",
               selected]


def markdown_table(paths) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for path in paths:
        lines.extend("| " + " | ".join(row) + " |" for row in table_rows(path))
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("metrics", nargs="+", help="metrics.json files")
    parser.add_argument("--output", help="also write the table to this file")
    args = parser.parse_args(argv)
    missing = [p for p in args.metrics if not os.path.isfile(p)]
    if missing:
        print(f"error: not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    table = markdown_table(args.metrics)
    print(table, end="")
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
