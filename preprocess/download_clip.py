"""Download a pretrained tag of open_clip into the cache that `--clip_checkpoint TAG` reads, where
there is a network (e.g. a cluster's login node); print the file:

    python -m preprocess.download_clip ViT-B/32 openai [--cache_dir DIR]

The cache and the download rules: `modules/clip_weights/download.py`.
"""
import argparse
import os
import sys

from modules.clip_weights.download import default_cache_dir, fetch_pretrained, weights_record
from modules.errors import InputError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Download a pretrained tag of open_clip into the cache "
                                                 "that --clip_checkpoint TAG reads; print the file (a file "
                                                 "given instead of a tag is printed as it is).")
    parser.add_argument("architecture", help="--pretrained_clip_name, e.g. ViT-B/32")
    parser.add_argument("tag", help="--clip_checkpoint, e.g. openai or laion2b_s34b_b79k (or a file)")
    parser.add_argument("--cache_dir", default=default_cache_dir(), help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        weights_record(args.architecture, args.tag)  # neither a tag nor a file: says so
        path = args.tag if os.path.isfile(args.tag) else fetch_pretrained(args.architecture, args.tag, args.cache_dir)
    except InputError as error:
        parser.exit(2, f"error: {error}\n")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
