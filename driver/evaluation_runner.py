"""Sharded evaluation: every rank encodes its share of captions and videos once, the video
features are gathered, each rank scores its captions against all videos with the pairwise
head, and the score rows are gathered into the full [captions x videos] matrix.

Any split size works with any number of processes: a rank whose share is empty (more processes
than videos or captions) contributes empty tensors of the right shape. Each phase of local work
runs inside `failing_together`, so a failure on one rank (a bad video, say) stops every rank
with its message at the end of that phase instead of leaving the others in the next gather.
"""
import torch
from torch.utils.data import DataLoader, Subset

from dataloaders.loader_workers import clip_loader
from dataloaders.retrieval_datasets import collate_batch
from driver.process_group import DistributedContext, shard_range
from modules.collectives import failing_together, gather_uneven
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
def encode_videos(model: RetrievalModel, loader: DataLoader, device: torch.device, show_progress: bool,
                  frames_per_video: int):
    frames, masks = [], []
    for batch in progress(loader, desc="encode videos", disable=not show_progress):
        mask = batch["video_mask"].to(device, non_blocking=True)
        frames.append(model.encode_video(batch["video"].to(device, non_blocking=True), mask))
        masks.append(mask.bool())
    if not frames:  # an empty shard: fp32 [0, T, D] as encode_video gives, so that it gathers with the rest
        width = model.head.frame_side_width(model.backbone.embed_dim)
        return (torch.zeros((0, frames_per_video, width), device=device),
                torch.zeros((0, frames_per_video), dtype=torch.bool, device=device))
    return torch.cat(frames), torch.cat(masks)  # [Nv_local, T, D (2D with plain frames kept)], [Nv_local, T]


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
    with failing_together("encoding its videos"):
        frames, video_mask = encode_videos(model, loader, ctx.device, show, video_dataset.spec.max_frames)
    frames, video_mask = gather_uneven(frames), gather_uneven(video_mask)
    with failing_together("scoring its captions"):
        if captions:
            text = encode_captions(model, captions, tokenizer, batch_size, ctx.device, show)
            rows = model.similarity(text, frames, video_mask).float()  # [Nt_local, Nv]
        else:
            rows = frames.new_zeros((0, frames.shape[0]))
    return gather_uneven(rows).cpu()

