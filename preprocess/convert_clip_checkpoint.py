"""Convert a CLIP checkpoint (OpenAI's TorchScript `ViT-B-32.pt`, a state dict) to safetensors.

The archive is read as data (`modules/clip_weights/torchscript_archive.py`): its code is never run. The
output records the weights' activation in its metadata (QuickGELU for OpenAI's archives, read
from their modules), so that training picks it without `--clip_activation`; for a file that
records none, give it with `--clip_activation`:

    python -m preprocess.convert_clip_checkpoint ViT-B-32.pt ViT-B-32.safetensors
    python -m preprocess.convert_clip_checkpoint laion.bin laion.safetensors --clip_activation gelu
"""
import argparse
import sys

from modules.clip_weights.files import ACTIVATIONS, convert_clip_checkpoint
from modules.errors import InputError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="TorchScript archive, state dict (.pt/.pth/.bin) or .safetensors")
    parser.add_argument("target", help="output .safetensors file")
    parser.add_argument("--clip_activation", choices=ACTIVATIONS,
                        help="the activation the weights were trained with, for a source that does not record it")
    args = parser.parse_args(argv)
    try:
        weights = convert_clip_checkpoint(args.source, args.target, args.clip_activation)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    activation = weights.record.activation
    print(f"wrote {len(weights.state)} tensors to {args.target}; activation: "
          + (f"{activation} ({weights.record.evidence})" if activation else
             "not recorded (train with --clip_activation, or convert again with it)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
