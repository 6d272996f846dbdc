"""Evaluation in the driver: one split's evaluator, the log lines of a report, eval-only runs."""
import logging
import os
from typing import Dict, Optional

import numpy as np

from dataloaders.retrieval_datasets import EvalVideoDataset
from dataloaders.caption_kinds import read_caption_kinds
from dataloaders.twin_pairs import read_all_twins
from driver.checkpoints import INPUT_FLAGS, MODEL_FLAGS, differing_model_flags, load_model_weights
from driver.evaluation_runner import similarity_matrix
from driver.process_group import DistributedContext
from driver.run_files import write_json
from modules.collectives import failing_together
from modules.errors import InputError
from modules.metrics import CONTRASTS, evaluation_report, format_metrics
from modules.retrieval_model import RetrievalModel

LOG = logging.getLogger("dllfa")


class Evaluator:
    """Evaluation of one split: its caption list, video dataset and twin index, built once."""

    def __init__(self, args, split, source, tokenizer, image_size: int, ctx: DistributedContext):
        self.args, self.split, self.tokenizer, self.ctx = args, split, tokenizer, ctx
        self.videos = EvalVideoDataset(split, source, max_frames=args.max_frames, image_size=image_size,
                                       slice_framepos=args.slice_framepos, frame_order=args.eval_frame_order)
        self.twins = read_all_twins(split.dataset, args.data_path, split.video_ids)
        self.caption_kinds = read_caption_kinds(split, args.data_path)

    def __call__(self, model: RetrievalModel, output_name: Optional[str] = None, record: Optional[Dict] = None) -> Dict:
        """The split's report (on the main rank; {} elsewhere) with `record` added (what produced
        the number: the model selection, overrides), written to `output_name` if given."""
        args = self.args
        sim = similarity_matrix(model, self.split, self.videos, self.tokenizer, args.batch_size_val,
                                args.num_thread_reader, self.ctx).numpy()
        with failing_together("writing the report"):  # the main process's work; the others wait here
            report = {**evaluation_report(sim, self.split, self.twins, args.dual_softmax, self.caption_kinds),
                      **(record or {})} if self.ctx.is_main else {}
            if self.ctx.is_main and output_name:
                write_json(os.path.join(args.output_dir, output_name), report)
                if args.save_sim:
                    np.save(os.path.join(args.output_dir, "sim_matrix.npy"), sim)
                    np.save(os.path.join(args.output_dir, "caption_video_index.npy"),
                            np.asarray(self.split.caption_video_index))
        return report


def log_report(report: Dict, title: str) -> None:
    LOG.info("%s: %s %s, %d captions x %d videos", title, report["dataset"], report["split"],
             report["n_captions"], report["n_videos"])
    for line in format_metrics({k: report[k] for k in ("t2v", "v2t")}).splitlines():
        LOG.info("  %s", line)
    for name in CONTRASTS.values():
        if name in report:
            LOG.info("  %s accuracy %.3f", name.replace("_", "-"), report[name])
    for kind, metrics in report.get("by_caption_kind", {}).items():
        LOG.info("  %s captions (%d): t2v R@1 %.1f%s", kind, metrics["n_captions"], metrics["R1"],
                 "".join(f", {name.replace('_', '-')} {metrics[name]:.3f}"
                         for name in CONTRASTS.values() if name in metrics))
    if "dual_softmax" in report:
        for line in format_metrics(report["dual_softmax"]).splitlines():
            LOG.info("  dual softmax %s", line)


def selection_score(report: Dict) -> float:
    """Model selection: text-to-video R@1."""
    return report["t2v"]["R1"]


def evaluate_only(args, model: RetrievalModel, splits, source, tokenizer, ctx: DistributedContext) -> None:
    """Evaluate `--init_model` (or the CLIP weights) on the test split. The flags of a checkpoint
    with a config were taken from it (driver/checkpoints.py adopt_checkpoint_flags); metrics.json
    records the checkpoint, its model selection and the input flags given otherwise."""
    record = {}
    if args.init_model:
        checkpoint = load_model_weights(model, args.init_model)
        differing = differing_model_flags(args, checkpoint)
        if differing:
            raise InputError(f"{args.init_model} was trained with other model flags; leave them out (they are "
                             "taken from its config) or pass the run's own:\n  " + "\n  ".join(differing))
        LOG.info("evaluating %s with %s", args.init_model,
                 ", ".join(f"--{flag} {getattr(args, flag)}" for flag in MODEL_FLAGS + INPUT_FLAGS)
                 + (" (its config's)" if checkpoint.get("config") else " (a plain state dict: the flags as given)"))
        for flag, values in args.overrides.items():
            LOG.warning("--%s %s overrides the checkpoint's %s", flag, values["used"], values["checkpoint"])
        record = {"init_model": args.init_model, "overrides": args.overrides}
        if "selection" in checkpoint:
            record["selection"] = checkpoint["selection"]
    else:
        LOG.info("no --init_model: evaluating the CLIP weights with a freshly initialised %s head", args.sim_header)
    report = Evaluator(args, splits["test"], source, tokenizer, model.backbone.image_size, ctx)(
        model, "metrics.json", record)
    if ctx.is_main:
        log_report(report, "eval")
        LOG.info("metrics written to %s", os.path.join(args.output_dir, "metrics.json"))
