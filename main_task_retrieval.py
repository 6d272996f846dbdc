"""Train and evaluate text-video retrieval: CLIP backbone + meanP / seqTransf / xpool / DLLFA.

    # one process (CPU or one GPU)
    python main_task_retrieval.py --do_train --datatype msrvtt --data_path ANNOTATIONS \\
        --features_path FRAMES --clip_checkpoint ViT-B-32.safetensors --output_dir runs/x
    # several GPUs / nodes
    torchrun --nproc_per_node 8 main_task_retrieval.py --do_train ...
    # eval-only
    python main_task_retrieval.py --do_eval --init_model runs/x/checkpoint_best.pt ...

Flag names follow CLIP4Clip where the meaning is the same; defaults are the demo's fp32 AdamW
recipe (docs/training.md); the launchers pass the recipe card's (docs/recipe.md).
The full config is written to `output_dir/config.json`.
The pieces live in `driver/`.
"""
import logging
import platform
import sys

import torch
import torch.distributed as dist

from dataloaders.registry import load_retrieval_splits
from dataloaders.video_source import open_video_source
from driver.evaluate import evaluate_only
from driver.flags import get_args
from driver.gpu_settings import apply_gpu_settings
from driver.model_setup import build_model, seed_everything
from driver.output_dir import open_output_dir
from driver.process_group import init_distributed
from driver.run_files import write_config
from driver.selection import check_held_out_videos, selection_splits
from driver.trainer import Trainer, TrainingDiverged
from modules.collectives import PeerFailed, is_distributed
from modules.errors import InputError
from modules.tokenizer import CaptionTokenizer

LOG = logging.getLogger("dllfa")


def run(args) -> None:
    ctx = init_distributed(args.device)
    resume_from = open_output_dir(args, ctx)  # refuses to overwrite a run; checks a resume's flags
    config = {**vars(args), "world_size": ctx.world_size, "device": str(ctx.device), "torch": str(torch.__version__),
              "python": platform.python_version(), "command": " ".join(sys.argv)}
    if ctx.is_main and resume_from is None:  # a resume writes it once its data is checked too (driver/trainer.py)
        write_config(args.output_dir, config)
    for setting, value in apply_gpu_settings(ctx.device, args.tf32 == "on", args.do_train).items():
        LOG.info("torch.backends.%s = %s", setting, value)
    seed_everything(args.seed + ctx.rank)
    splits = load_retrieval_splits(args.datatype, args.data_path, msrvtt_split=args.msrvtt_split)
    source = open_video_source(args.features_path)
    splits = {name: source.restrict(split, on_missing=args.on_missing) for name, split in splits.items()}
    if args.do_train:
        splits, selection, held_out = selection_splits(args, splits)
        if held_out:
            check_held_out_videos(held_out, resume_from)
            config["holdout_val_ids"] = held_out
            if ctx.is_main and resume_from is None:
                write_config(args.output_dir, config)
    for name, split in splits.items():
        LOG.info("%s %s: %d captions, %d videos", args.datatype, name, len(split.captions), len(split.video_ids))
    tokenizer = CaptionTokenizer(args.max_words)
    torch.manual_seed(args.seed)  # identical initial weights on every rank
    model = build_model(args, ctx.device)
    if args.do_train:
        Trainer(args, model, splits, selection, source, tokenizer, ctx, config, resume_from).run()
    else:
        evaluate_only(args, model, splits, source, tokenizer, ctx)
    if is_distributed():
        dist.barrier()
        dist.destroy_process_group()


def main(argv=None) -> int:
    args = get_args(argv, description=__doc__)
    try:
        run(args)
    except (TrainingDiverged, PeerFailed) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
