"""Sharded evaluation: every rank encodes its share of captions and videos once, the video
features are gathered, each rank scores its captions against all videos with the pairwise
head, and the score rows are gathered into the full [captions x videos] matrix.
"""
import torch
from torch.utils.data import DataLoader, Subset

from dataloaders.retrieval_datasets import collate_batch
from driver.process_group import DistributedContext, shard_range
from modules.collectives import gather_uneven
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
    loader = DataLoader(videos, batch_size=batch_size, num_workers=num_workers,
                        collate_fn=collate_batch, pin_memory=ctx.device.type == "cuda")
    frames, video_mask = encode_videos(model, loader, ctx.device, show)
    frames, video_mask = gather_uneven(frames), gather_uneven(video_mask)
    if captions:
        text = encode_captions(model, captions, tokenizer, batch_size, ctx.device, show)
        rows = model.similarity(text, frames, video_mask).float()  # [Nt_local, Nv]
    else:
        rows = frames.new_zeros((0, frames.shape[0]))
    return gather_uneven(rows).cpu()

