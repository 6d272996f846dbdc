"""Retrieval metrics of a saved similarity matrix (rows = texts, columns = videos), the
conventions of `modules/metrics.py`:

    python -m scripts.compute_metrics SIM.npy [--caption_video_index FILE] [--tie_rule shared] [--json]

`--tie_rule shared` counts ties as the synthetic dataset's metrics.json does (docs/evaluation.md).
"""
import argparse
import json
import sys

import numpy as np

from modules.errors import InputError
from modules.metrics import TIE_RULES, format_metrics, retrieval_metrics


def read_caption_video_index(path: str) -> np.ndarray:
    """A .npy integer array, or a text file with one integer per line."""
    try:
        if path.endswith(".npy"):
            return np.load(path, allow_pickle=False)
        with open(path) as handle:
            return np.array([int(line) for line in handle if line.strip()], dtype=np.int64)
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read caption_video_index: {error}") from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("similarity", help=".npy matrix, rows = texts, columns = videos")
    parser.add_argument("--caption_video_index", help="video index of each caption (.npy or one int per line); "
                                                      "default: the diagonal is the ground truth")
    parser.add_argument("--tie_rule", choices=TIE_RULES, default="ground_truth",
                        help="ties for the ground truth (real data, the reference code bases' rule) or shared "
                             "(what a random order of the tied gives: the synthetic dataset's rule)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    try:
        try:
            sim = np.load(args.similarity, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise InputError(f"{args.similarity}: cannot read similarity matrix: {error}") from None
        index = read_caption_video_index(args.caption_video_index) if args.caption_video_index else None
        metrics = retrieval_metrics(sim, index, args.tie_rule)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(metrics) if args.json else format_metrics(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
