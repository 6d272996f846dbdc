"""Check a dataset before training on it: `python -m scripts.check_dataset --datatype msrvtt
--data_path ANNOTATIONS --features_path FRAMES [--msrvtt_split 9k] [--splits test]`.

Reads the annotation files and the frames folder as main_task_retrieval.py does
(dataloaders/dataset_check.py) and prints per split: videos listed, with frames, missing,
captions and frames per video. Exit status 2 with one line per split that has videos without
frames (how many, the first ids and why), or with the error of a bad annotation file; 0 when
every listed video has frames. `--on_missing skip` (the driver's flag: train without the videos
that have no frames, counted) turns those lines into warnings and exits 0. The launchers
(scripts/launch.sh) pass it their whole command line: the flags of main_task_retrieval.py other
than these are ignored, so a launcher stops on missing frames unless it is given `--on_missing skip`."""
import argparse
import sys

from dataloaders.dataset_check import check_dataset, problems, report_lines
from dataloaders.msrvtt import MSRVTT_SPLITS
from dataloaders.registry import DATATYPES
from dataloaders.video_source import ON_MISSING
from modules.errors import InputError

SPLITS = ("train", "val", "test")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--datatype", choices=DATATYPES, default="msrvtt", help="dataset (default: %(default)s)")
    parser.add_argument("--data_path", required=True, help="folder with the dataset's annotation files")
    parser.add_argument("--features_path", required=True, help="frames folder (with manifest.jsonl) or video folder")
    parser.add_argument("--msrvtt_split", choices=MSRVTT_SPLITS, default="9k",
                        help="MSR-VTT's training list (default: %(default)s)")
    parser.add_argument("--splits", default=",".join(SPLITS),
                        help="comma-separated splits to check, of those the dataset has (default: all)")
    parser.add_argument("--on_missing", choices=ON_MISSING, default="error",
                        help="error: exit 2 when a listed video has no frames; skip: warn and exit 0, as the driver "
                             "then trains without them (default: %(default)s)")
    args, _ = parser.parse_known_args(argv)
    wanted = args.splits.split(",")
    unknown = [name for name in wanted if name not in SPLITS]
    if unknown:
        parser.error(f"--splits: unknown {', '.join(unknown)}; use {', '.join(SPLITS)}")
    try:
        source, checks = check_dataset(args.datatype, args.data_path, args.features_path, args.msrvtt_split, wanted)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    label = f"{args.datatype} {args.msrvtt_split}" if args.datatype == "msrvtt" else args.datatype
    print(f"{label}: annotations in {args.data_path}; {source.description}")
    print("\n".join(report_lines(checks)))
    found = problems(label, source, checks)
    severity = "warning" if args.on_missing == "skip" else "error"
    for line in found:
        print(f"{severity}: {line}", file=sys.stderr)
    return 2 if found and severity == "error" else 0


if __name__ == "__main__":
    sys.exit(main())
