"""PyTorch datasets for training (caption-video pairs) and evaluation (videos), and collate.

Both are safe in DataLoader workers: sources open files per read (nothing open is shared
across fork) and every random draw comes from a generator seeded by (seed, epoch, index),
so sampling does not depend on the worker that serves an item and a resumed run that calls
`set_epoch(epoch)` reproduces it. The epoch lives in shared memory, so `set_epoch` before
iterating the epoch's DataLoader reaches workers that are already running
(`persistent_workers=True`). Evaluation texts need no dataset: tokenise `split.captions`.
"""
from typing import Dict, List, Optional, Union

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate

from dataloaders.clip_reading import ClipSpec, read_clip
from dataloaders.retrieval_split import RetrievalSplit
from dataloaders.video_source import VideoSource
from modules.errors import InputError
from modules.tokenizer import CaptionTokenizer

CAPTIONS_PER_VIDEO = ("all", "one")


class TrainPairDataset(Dataset):
    """Training items. captions_per_video="all": one item per caption (every caption-video
    pair once per epoch, e.g. 180k for MSR-VTT 9k); "one": one item per video with one of its
    captions drawn at random each epoch.

    item: {"tokens": int64 [L], "video": uint8 [T, 3, H, W], "video_mask": bool [T],
           "caption_index": int, "video_index": int}  (T = max_frames, H = W = image_size)
    and with `caption_matches` ([num_captions, K], `dataloaders.caption_matches.padded_matches`)
    also "caption_matches": int64 [K], the videos the item's caption describes (-1 padded).
    """

    def __init__(self, split: RetrievalSplit, source: VideoSource, tokenizer: CaptionTokenizer,
                 max_frames: int = 12, image_size: int = 224, slice_framepos: Union[str, int] = "uniform",
                 frame_order: Union[str, int] = "normal", random_offset: bool = True,
                 captions_per_video: str = "all", seed: int = 0, caption_matches: Optional[np.ndarray] = None):
        if captions_per_video not in CAPTIONS_PER_VIDEO:
            raise InputError(f"captions_per_video must be one of {', '.join(CAPTIONS_PER_VIDEO)}, "
                             f"got {captions_per_video!r}")
        self.split, self.source, self.tokenizer = split, source, tokenizer
        self.spec = ClipSpec(max_frames, image_size, slice_framepos, frame_order, random_offset)
        self.captions_per_video = captions_per_video
        self.video_captions = split.caption_indices_per_video() if captions_per_video == "one" else None
        self.seed = seed
        self.caption_matches = None if caption_matches is None else torch.from_numpy(caption_matches)
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()  # seen by DataLoader workers

    def set_epoch(self, epoch: int) -> None:
        self._epoch.fill_(epoch)

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def __len__(self) -> int:
        return len(self.split.video_ids) if self.captions_per_video == "one" else len(self.split.captions)

    def __getitem__(self, index: int) -> Dict[str, object]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.captions_per_video == "one":
            video_index, caption_index = index, int(rng.choice(self.video_captions[index]))
        else:
            video_index, caption_index = int(self.split.caption_video_index[index]), index
        tokens = self.tokenizer([self.split.captions[caption_index]]).tokens[0]  # [L]
        video, video_mask = read_clip(self.source, self.split.dataset, self.split.video_ids[video_index], self.spec, rng)
        item = {"tokens": tokens, "video": video, "video_mask": video_mask,
                "caption_index": caption_index, "video_index": video_index}
        if self.caption_matches is not None:
            item["caption_matches"] = self.caption_matches[caption_index]  # [K]
        return item


class EvalVideoDataset(Dataset):
    """One item per video of the split, sampled deterministically (segment middles; a
    "shuffle" order is seeded by the video index).

    item: {"video": uint8 [T, 3, H, W], "video_mask": bool [T], "video_index": int}
    """

    def __init__(self, split: RetrievalSplit, source: VideoSource, max_frames: int = 12, image_size: int = 224,
                 slice_framepos: Union[str, int] = "uniform", frame_order: Union[str, int] = "normal"):
        self.split, self.source = split, source
        self.spec = ClipSpec(max_frames, image_size, slice_framepos, frame_order, random_offset=False)

    def __len__(self) -> int:
        return len(self.split.video_ids)

    def __getitem__(self, index: int) -> Dict[str, object]:
        rng = np.random.default_rng(index)
        video, video_mask = read_clip(self.source, self.split.dataset, self.split.video_ids[index], self.spec, rng)
        return {"video": video, "video_mask": video_mask, "video_index": index}


def collate_batch(items: List[Dict[str, object]]) -> Dict[str, torch.Tensor]:
    """Stack items into a batch: tensors gain a leading [B] dimension, ints become int64 [B].
    In a DataLoader worker the batch is stacked straight into shared memory (PyTorch's
    default_collate), which saves a copy of every batch on its way to the main process."""
    return default_collate(items)
