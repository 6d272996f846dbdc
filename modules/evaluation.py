"""Sharded evaluation: every rank encodes its share of captions and videos once, the video
features are gathered, each rank scores its captions against all videos with the pairwise
head, and the score rows are gathered into the full [captions x videos] matrix.
"""
from typing import Dict, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from dataloaders.loader_workers import clip_loader
from dataloaders.retrieval_datasets import collate_batch
from modules.contrastive_loss import dual_softmax
from modules.distributed import DistributedContext, gather_uneven, shard_range
from modules.metrics import metrics_by_caption_kind, order_contrast_accuracy, retrieval_metrics
from modules.progress import progress
from modules.retrieval_model import RetrievalModel, TextFeatures
from modules.tokenizer import CaptionTokenizer


@torch.no_grad()
def encode_captions(model: RetrievalModel, captions, tokenizer: CaptionTokenizer, batch_size: int,
                    device: torch.device, show_progress: bool) -> TextFeatures:
    parts = []
    for start in progress(range(0, len(captions), batch_size), desc="encode captions", disable=not show_progress):
        tokens = tokenizer(captions[start:start + batch_size]).tokens.to(device, non_blocking=True)
        parts.append(model.encode_text(tokens))
    return TextFeatures(*(torch.cat([getattr(p, f) for p in parts]) for f in ("sentence", "words", "word_mask")))


@torch.no_grad()
def encode_videos(model: RetrievalModel, loader: DataLoader, device: torch.device, show_progress: bool):
    frames, masks = [], []
    for batch in progress(loader, desc="encode videos", disable=not show_progress):
        mask = batch["video_mask"].to(device, non_blocking=True)
        frames.append(model.encode_video(batch["video"].to(device, non_blocking=True), mask))
        masks.append(mask.bool())
    return torch.cat(frames), torch.cat(masks)  # [Nv_local, T, D], [Nv_local, T]


@torch.no_grad()
def similarity_matrix(model: RetrievalModel, split, video_dataset, tokenizer: CaptionTokenizer,
                      batch_size: int, num_workers: int, ctx: DistributedContext) -> torch.Tensor:
    """Full [captions, videos] cosine matrix on every rank (CPU tensor)."""
    model.eval()
    show = ctx.is_main
    captions = [split.captions[i] for i in shard_range(len(split.captions), ctx.rank, ctx.world_size)]
    videos = Subset(video_dataset, list(shard_range(len(video_dataset), ctx.rank, ctx.world_size)))
    loader = clip_loader(videos, video_dataset.spec, batch_size, num_workers,
                         collate_fn=collate_batch, pin_memory=ctx.device.type == "cuda")
    frames, video_mask = encode_videos(model, loader, ctx.device, show)
    frames, video_mask = gather_uneven(frames), gather_uneven(video_mask)
    if captions:
        text = encode_captions(model, captions, tokenizer, batch_size, ctx.device, show)
        rows = model.similarity(text, frames, video_mask).float()  # [Nt_local, Nv]
    else:
        rows = frames.new_zeros((0, frames.shape[0]))
    return gather_uneven(rows).cpu()


# twin relation (the synthetic dataset's, dataloaders/twin_pairs.py) -> the contrast measured against it
CONTRASTS = {"reversed": "order_contrast", "swapped": "swap_contrast", "events_reversed": "direction_contrast"}


def twin_contrasts(sim: np.ndarray, caption_video_index: np.ndarray, twins: Dict[str, np.ndarray]) -> Dict[str, float]:
    """For each twin relation where some caption's video has a twin, the share of those captions
    that score their video above the twin (`CONTRASTS` names it: order contrast against the
    time-reversed twin, swap contrast against the event-swapped one, direction contrast against
    the events-reversed one)."""
    return {CONTRASTS[relation]: order_contrast_accuracy(sim, caption_video_index, partners)
            for relation, partners in twins.items() if (partners[caption_video_index] >= 0).any()}


def evaluation_report(sim: np.ndarray, split, twins: Dict[str, np.ndarray], with_dual_softmax: bool,
                      caption_kinds: Optional[np.ndarray] = None) -> Dict:
    """metrics.json content: plain metrics, then (separately) dual-softmax, the twin contrasts
    (`twins`: {relation of `CONTRASTS`: twin index per video, -1 none}; real datasets: {}) and,
    with caption kinds, text-to-video metrics and contrasts per kind (`by_caption_kind`)."""
    index = np.asarray(split.caption_video_index)
    report = {"dataset": split.dataset, "split": split.name, "n_captions": int(sim.shape[0]),
              "n_videos": int(sim.shape[1]), **retrieval_metrics(sim, index)}
    report.update(twin_contrasts(sim, index, twins))
    if caption_kinds is not None:
        report["by_caption_kind"] = {
            kind: {**metrics, **twin_contrasts(sim[caption_kinds == kind], index[caption_kinds == kind], twins)}
            for kind, metrics in metrics_by_caption_kind(sim, index, caption_kinds).items()}
    if with_dual_softmax:  # the prior runs over the queries of each direction
        scores = torch.from_numpy(sim)
        report["dual_softmax"] = {
            "t2v": retrieval_metrics(dual_softmax(scores).numpy(), index)["t2v"],
            "v2t": retrieval_metrics(dual_softmax(scores.T).T.numpy(), index)["v2t"]}
    return report
