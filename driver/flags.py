"""Command-line flags of `main_task_retrieval.py`: CLIP4Clip's names where the meaning is the
same, the demo's recipe as defaults (docs/training.md; launchers: docs/recipe.md), and the model flags that a
checkpoint must be evaluated with."""
import argparse
import math
import os
from typing import Set

import torch

from dataloaders.msrvtt import MSRVTT_SPLITS
from dataloaders.registry import DATATYPES
from dataloaders.retrieval_datasets import CAPTIONS_PER_VIDEO
from dataloaders.video_source import ON_MISSING
from driver.checkpoints import adopt_checkpoint_flags, checkpoint_config
from driver.process_group import DEVICES
from driver.selection import SELECTION_RULES
from modules.clip_backbone import resolve_activation
from modules.clip_weights.files import ACTIVATIONS
from modules.clip_weights.download import default_cache_dir, weights_record
from modules.errors import InputError
from modules.optimization import OPTIMIZERS
from modules.retrieval_heads import DEFAULT_MEMORY_MB, DLLFA_LEVELS, FUSIONS, HEAD_NAMES, ORDER_FUSIONS, TOKEN_FRAMES

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """--help: the description as written, and every flag's default after its help."""


def build_parser(description: str = "") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    task = parser.add_argument_group("task")
    task.add_argument("--do_train", action="store_true", help="train; ends with the test evaluation of the best checkpoint")
    task.add_argument("--do_eval", action="store_true",
                      help="evaluate --init_model (or the CLIP weights) on the test split; without --do_train, "
                           "the model flags and --max_frames, --max_words, --slice_framepos, --eval_frame_order, "
                           "--precision come from the checkpoint's config (an input flag given otherwise is an "
                           "override, recorded)")
    task.add_argument("--output_dir", required=True, help="config, logs, checkpoints, metrics.json")
    task.add_argument("--seed", type=int, default=42, help="initial weights, data order, frame offsets")
    task.add_argument("--resume", action="store_true", help="continue from output_dir/checkpoint_last.pt")
    task.add_argument("--init_model", help="model weights to start from or evaluate (a checkpoint of this repository)")
    task.add_argument("--device", choices=DEVICES, default="auto",
                      help="auto: CUDA if torch can use it, else the CPU (the launchers pass cuda or cpu)")

    data = parser.add_argument_group("data")
    data.add_argument("--datatype", choices=DATATYPES, default="msrvtt", help="dataset (annotation format)")
    data.add_argument("--data_path", required=True, help="folder with the dataset's annotation files, as distributed")
    data.add_argument("--features_path", required=True,
                      help="frames folder written by preprocess/extract_frames.py, or a folder of videos")
    data.add_argument("--msrvtt_split", choices=MSRVTT_SPLITS, default="9k",
                      help="9k/7k: train csv + 1k-A test; full: official train/validate/test (multi-caption)")
    data.add_argument("--max_words", type=int, default=32, help="caption tokens, start and end included")
    data.add_argument("--max_frames", type=int, default=12, help="frames per clip (fewer in a shorter video)")
    data.add_argument("--slice_framepos", default="uniform",
                      help="uniform (middle of equal segments, X-Pool's) | linspace (first to last evenly, CLIP4Clip's) "
                           "| head | tail; CLIP4Clip's 0|1|2 = head|tail|linspace")
    data.add_argument("--train_frame_order", default="normal", help="normal|reverse|shuffle (or 0|1|2)")
    data.add_argument("--eval_frame_order", default="normal", help="normal|reverse|shuffle (or 0|1|2)")
    data.add_argument("--train_random_offset", action="store_true",
                      help="training: a random frame inside each uniform segment instead of its first frame")
    data.add_argument("--train_captions", choices=CAPTIONS_PER_VIDEO, default="all",
                      help="all: every caption-video pair per epoch; one: one random caption per video")
    data.add_argument("--twin_batches", action="store_true",
                      help="keep each video and its twins (data_path/order_contrast_pairs.csv and "
                           "event_swap_pairs.csv, the synthetic dataset) in one training batch; "
                           "needs --train_captions one")
    data.add_argument("--train_positives", choices=["matches", "own"], default="matches",
                      help="training target of a caption: matches: every video of the batch it describes (its own, "
                           "videos with the same caption text, those data_path/caption_matches.csv lists); own: its "
                           "own video only (CLIP4Clip's one-hot target)")
    data.add_argument("--on_missing", choices=ON_MISSING, default="skip",
                      help="videos without frames: skip (count reported) or stop")
    data.add_argument("--num_thread_reader", type=int, default=4, help="DataLoader workers per process")

    model = parser.add_argument_group("model")
    model.add_argument("--pretrained_clip_name", default="ViT-B/32", help="CLIP architecture (open_clip name)")
    model.add_argument("--clip_checkpoint",
                       help="CLIP weights: a pretrained tag of open_clip for --pretrained_clip_name (openai, "
                            "laion2b_s34b_b79k, ...; downloaded once into --cache_dir) or a file (OpenAI .pt, "
                            "state dict, .safetensors); without it CLIP starts from random weights")
    model.add_argument("--sim_header", choices=HEAD_NAMES, default="dllfa", help="retrieval head")
    model.add_argument("--cross_num_hidden_layers", type=int, default=4, help="temporal encoder layers")
    model.add_argument("--attention_dim", type=int, default=64, help="key width of the text-to-frame attention")
    model.add_argument("--dllfa_levels", choices=DLLFA_LEVELS, default="both",
                       help="DLLFA's attention levels; frame or token alone: ablations")
    model.add_argument("--dllfa_no_temporal", action="store_true", help="ablation: DLLFA without the temporal encoder")
    model.add_argument("--dllfa_token_frames", choices=TOKEN_FRAMES, default="temporal",
                       help="what DLLFA's token level attends over: the temporal encoder's output, or the plain frames "
                            "before it (order-free: the frame level alone then reads order; modules/attention_head.py)")
    model.add_argument("--temporal_centering", action="store_true",
                       help="temporal encoder (dllfa, seqTransf) input: each frame minus its video's mean frame, "
                            "for backbones whose frames of one video are nearly the same vector (docs/demo.md)")
    model.add_argument("--dllfa_fusion", default="caption",
                       help="weight of the frame level: caption: a learned weight per caption from its sentence "
                            "feature (modules/attention_head.py); learned: one learned weight; or a fixed number in [0, 1]")
    model.add_argument("--dllfa_order_fusion", choices=ORDER_FUSIONS, default="caption",
                       help="DLLFA's order reading: caption: each level also scores the video played backwards and "
                            "what flips under reversal gets a per-caption weight of its own (twice the video-side "
                            "and pairwise cost); shared: weighed with the rest of each level's score (ablation). "
                            "Applies to both levels over the temporal encoder; otherwise shared "
                            "(modules/attention_head.py)")
    model.add_argument("--dllfa_token_loss", action="store_true",
                       help="training: add the InfoNCE of DLLFA's token level alone, on what a reversal of the video "
                            "keeps, to the fused loss (feature benchmark: more of the described events found, less order read; pixel "
                            "demo: worse on every seed; docs/feature_benchmark.md, docs/demo.md); needs order fusion. "
                            "Evaluation scores the same without it")
    # CLIP weights: the activation they were trained with, where tags are downloaded to
    model.add_argument("--clip_activation", choices=ACTIVATIONS,
                       help="activation of CLIP's MLPs; by default what the weights record (OpenAI: quick_gelu; "
                            "open_clip tags: their config), quick_gelu without weights; needed for a file that "
                            "records none, and must agree with one that does")
    model.add_argument("--cache_dir", default=default_cache_dir(),
                       help="where pretrained tags are downloaded ($XDG_CACHE_HOME/clip if set, else ~/.cache/clip)")
    model.add_argument("--precision", choices=sorted(PRECISIONS), default="fp32", help="autocast dtype")
    model.add_argument("--grad_checkpointing", action="store_true",
                       help="recompute CLIP's activations in the backward pass (less memory, slower)")
    model.add_argument("--tf32", choices=["on", "off"], default="on",
                       help="on a GPU: TF32 for the fp32 matrix products of CLIP and the temporal encoder (the "
                            "heads' cosines stay full fp32); off: full fp32 everywhere. No effect on the CPU")

    optim = parser.add_argument_group("optimization")
    optim.add_argument("--epochs", type=int, default=5, help="passes over the training pairs")
    optim.add_argument("--batch_size", type=int, default=128, help="global batch per optimizer step")
    optim.add_argument("--batch_size_val", type=int, default=64, help="per-process batch of the evaluation encoders")
    optim.add_argument("--lr", type=float, default=1e-4, help="learning rate of the new parameters")
    optim.add_argument("--coef_lr", type=float, default=1e-3, help="CLIP learning rate = lr * coef_lr")
    optim.add_argument("--weight_decay", type=float, default=0.2,
                       help="weight decay of the parameters that the optimizer recipe decays")
    optim.add_argument("--warmup_proportion", type=float, default=0.1,
                       help="share of all steps with a linear warmup of the learning rate")
    optim.add_argument("--max_grad_norm", type=float, default=1.0,
                       help="global gradient clip before every step (and BertAdam's per-parameter clip); 0: none")
    optim.add_argument("--gradient_accumulation_steps", type=int, default=1,
                       help="split each global batch into this many contrastive micro-batches")
    optim.add_argument("--freeze_layer_num", type=int, default=-1,
                       help="-1: train all of CLIP; N: freeze its embeddings and blocks 0..N-1")
    optim.add_argument("--n_display", type=int, default=50,
                       help="every N steps the losses are read from the device (one transfer, not one per step): "
                            "logged per step, checked (a NaN or inf loss stops the run within N steps), and "
                            "written to TensorBoard")

    recipe = parser.add_argument_group("optimizer recipe (docs/recipe.md)")
    recipe.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw",
                        help="adamw: AdamW on fp32 weights (betas 0.9/0.98, no decay on biases, norms, embeddings); "
                             "clip4clip: CLIP4Clip's: CLIP's weights stored, run and updated in fp16 by BertAdam "
                             "(no bias correction, its warmup_cosine, per-parameter clipping); xpool: X-Pool's AdamW "
                             "(betas 0.9/0.999, decay on every parameter, warmup from 0). The launchers pass the "
                             "published recipe; the default suits small models trained from scratch (the demo)")
    recipe.add_argument("--reference_gpus", type=int, default=1,
                        help="train CLIP and the temporal encoder with the global-batch loss's gradient / this "
                             "number, whatever the number of processes: 1 is the true gradient; CLIP4Clip's "
                             "gather gives the gradient / its GPU count, so its rows pass the count of the "
                             "published run (4; DiDeMo 8). The parameters after the gather (logit scale, "
                             "attention levels) keep the true gradient, as in CLIP4Clip")

    evaluation = parser.add_argument_group("evaluation")
    evaluation.add_argument("--sim_memory_mb", type=float, default=DEFAULT_MEMORY_MB,
                            help="memory budget of the pairwise scoring temporaries")
    evaluation.add_argument("--dual_softmax", action="store_true", help="also report dual-softmax metrics (separately)")
    evaluation.add_argument("--save_sim", action="store_true", help="write sim_matrix.npy and caption_video_index.npy")

    selection = parser.add_argument_group("model selection (driver/selection.py)")
    selection.add_argument("--model_selection", choices=SELECTION_RULES, default="best",
                           help="best: the epoch with the best text-to-video R@1 on the validation split (the "
                                "dataset's, --holdout_val's, else the TEST split, as CLIP4Clip does for MSR-VTT "
                                "9k/7k); last: the last epoch (no test evaluation before the end)")
    selection.add_argument("--holdout_val", type=int, default=0,
                           help="hold out this many training videos (drawn with --seed) as the validation split, "
                                "for datasets without one; their ids go into config.json; 0: none")

    output = parser.add_argument_group("output directory")
    output.add_argument("--overwrite_output_dir", action="store_true",
                        help="start afresh in an --output_dir that holds a run: its files (checkpoints, logs, "
                             "metrics) are removed first; without it such a folder is refused (or --resume)")
    return parser


def get_args(argv=None, description: str = "") -> argparse.Namespace:
    """The flags of a run. Eval-only of a checkpoint that records its config (`--do_eval
    --init_model` without `--do_train`) takes the model and input flags from that config
    (`adopt_checkpoint_flags`); `args.overrides` holds the input flags given otherwise."""
    parser = build_parser(description)
    args = parser.parse_args(argv)
    args.overrides = {}
    if args.do_eval and not args.do_train and args.init_model:
        try:
            args.overrides = adopt_checkpoint_flags(args, checkpoint_config(args.init_model),
                                                    explicit_flags(parser, argv))
        except InputError as error:
            parser.exit(2, f"error: {error}\n")
    check_args(parser, args)
    settle_clip_activation(parser, args)
    return args


def explicit_flags(parser: argparse.ArgumentParser, argv=None) -> Set[str]:
    """The destinations of the flags given on the command line (a flag given with its default
    value counts): `argv` parsed again with every default replaced by a marker (which `parser` keeps)."""
    not_given = object()
    parser.set_defaults(**{destination: not_given for destination in vars(parser.parse_args(argv))})
    return {destination for destination, value in vars(parser.parse_args(argv)).items() if value is not not_given}


# Bounds of the numeric flags: a value outside is an argparse error (exit status 2) instead of
# a division by zero, an empty loader or a loss that rises. NaN and infinity are never allowed.
AT_LEAST = {"seed": 0,  # numpy's generators take non-negative seeds
            "max_words": 3,  # SOT, one word, EOT
            "max_frames": 1, "num_thread_reader": 0, "cross_num_hidden_layers": 1, "attention_dim": 1,
            "epochs": 1, "batch_size": 1, "reference_gpus": 1, "batch_size_val": 1, "coef_lr": 0, "weight_decay": 0,
            "warmup_proportion": 0, "gradient_accumulation_steps": 1, "freeze_layer_num": -1, "n_display": 1,
            "max_grad_norm": 0,  # 0: no clipping
            "holdout_val": 0}
ABOVE = {"lr": 0, "sim_memory_mb": 0}
AT_MOST = {"warmup_proportion": 1}


def numeric_flag_problem(flag: str, value) -> str:
    """Why `value` is not allowed for `--flag` (empty if it is)."""
    if not math.isfinite(value):
        return f"--{flag} must be a finite number, got {value}"
    if flag in AT_LEAST and value < AT_LEAST[flag]:
        return f"--{flag} must be at least {AT_LEAST[flag]}, got {value}"
    if flag in ABOVE and not value > ABOVE[flag]:
        return f"--{flag} must be greater than {ABOVE[flag]}, got {value}"
    if flag in AT_MOST and value > AT_MOST[flag]:
        return f"--{flag} must be at most {AT_MOST[flag]}, got {value}"
    return ""


def settle_clip_activation(parser, args) -> None:
    """Set `--clip_activation` to the one the model will be built with, before config.json records
    it: from the tag or file of `--clip_checkpoint` (read as little as possible, nothing downloaded)."""
    try:
        record = weights_record(args.pretrained_clip_name, args.clip_checkpoint)
        args.clip_activation = resolve_activation(args.pretrained_clip_name, record, args.clip_activation,
                                                  args.clip_checkpoint)
    except InputError as error:
        parser.exit(2, f"error: {error}\n")


def check_args(parser, args) -> None:
    if not (args.do_train or args.do_eval):
        parser.error("nothing to do: give --do_train and/or --do_eval")
    for flag, value in vars(args).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            problem = numeric_flag_problem(flag, value)
            if problem:
                parser.error(problem)
    if args.dllfa_fusion not in FUSIONS:
        try:
            fusion = float(args.dllfa_fusion)
        except ValueError:
            fusion = -1.0
        if not 0.0 <= fusion <= 1.0:
            parser.error(f"--dllfa_fusion must be a number in [0, 1], {' or '.join(FUSIONS)}, got {args.dllfa_fusion!r}")
    if args.optimizer == "clip4clip" and args.precision != "fp32":
        parser.error(f"--optimizer clip4clip runs CLIP with fp16 weights as CLIP4Clip does; --precision "
                     f"{args.precision} (autocast over fp32 master weights, with a gradient scaler for fp16) is "
                     f"another recipe: leave --precision at fp32 or use --optimizer adamw / xpool")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    per_step = world_size * args.gradient_accumulation_steps
    if args.batch_size % per_step:
        parser.error(f"--batch_size {args.batch_size} must divide into {world_size} processes x "
                     f"{args.gradient_accumulation_steps} accumulation steps")
