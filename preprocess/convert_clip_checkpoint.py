"""Convert a CLIP checkpoint (OpenAI's TorchScript `ViT-B-32.pt`, a state dict) to safetensors.

OpenAI ships TorchScript archives, which need `torch.jit.load`. Converting once lets every
later load go through safetensors, which cannot run code:

    python -m preprocess.convert_clip_checkpoint ViT-B-32.pt ViT-B-32.safetensors
"""
import argparse
import sys

from safetensors.torch import save_file

from modules.atomic_file import atomic_path
from modules.clip_checkpoint import read_clip_state_dict
from modules.errors import InputError


def convert_clip_checkpoint(source: str, target: str) -> int:
    """Write the weights of `source` to `target` (.safetensors); return the number of tensors."""
    if not target.endswith(".safetensors"):
        raise InputError(f"target must end with .safetensors: {target}")
    state = {k: v.detach().contiguous().clone() for k, v in read_clip_state_dict(source).items()}
    with atomic_path(target) as temporary:
        save_file(state, temporary)
    return len(state)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="TorchScript archive or state dict (.pt/.pth/.bin)")
    parser.add_argument("target", help="output .safetensors file")
    args = parser.parse_args(argv)
    try:
        count = convert_clip_checkpoint(args.source, args.target)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {count} tensors to {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
