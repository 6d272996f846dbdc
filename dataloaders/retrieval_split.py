"""The common form of every dataset split: videos, captions, and each caption's video.

Multi-caption sets (MSR-VTT full test, VATEX, MSVD, LSMDC train) have several captions per
video; `caption_video_index[i]` says which video caption `i` describes. Evaluation ranks
every caption against all videos (text-to-video) and every video against all captions
(video-to-text, ground truth = the best-ranked of its own captions).
"""
from dataclasses import dataclass
from typing import Iterable, List, Tuple

import numpy as np


@dataclass(frozen=True)
class RetrievalSplit:
    dataset: str                     # registry name, e.g. "msrvtt"
    name: str                        # "train", "val" or "test"
    video_ids: List[str]             # unique, in annotation order
    captions: List[str]
    caption_video_index: np.ndarray  # [num_captions] int64, caption i -> index into video_ids

    def __post_init__(self):
        index = np.asarray(self.caption_video_index, dtype=np.int64)
        object.__setattr__(self, "caption_video_index", index)
        if index.shape != (len(self.captions),):
            raise ValueError(f"{len(self.captions)} captions but caption_video_index has shape {index.shape}")
        if len(index) and (index.min() < 0 or index.max() >= len(self.video_ids)):
            raise ValueError(f"caption_video_index outside [0, {len(self.video_ids)})")
        if len(set(self.video_ids)) != len(self.video_ids):
            raise ValueError(f"{self.dataset} {self.name}: repeated video ids")

    def caption_indices_per_video(self) -> List[np.ndarray]:
        """For each video, the indices of its captions (in caption order)."""
        order = np.argsort(self.caption_video_index, kind="stable")
        bounds = np.searchsorted(self.caption_video_index[order], np.arange(len(self.video_ids) + 1))
        return [order[bounds[v]:bounds[v + 1]] for v in range(len(self.video_ids))]

    def keep_videos(self, keep: np.ndarray) -> "RetrievalSplit":
        """The split without the videos where `keep` [num_videos] is False, nor their captions."""
        keep = np.asarray(keep, dtype=bool)
        new_index = np.cumsum(keep) - 1  # old video index -> new video index
        kept_captions = keep[self.caption_video_index]
        return RetrievalSplit(
            dataset=self.dataset, name=self.name,
            video_ids=[v for v, k in zip(self.video_ids, keep) if k],
            captions=[c for c, k in zip(self.captions, kept_captions) if k],
            caption_video_index=new_index[self.caption_video_index[kept_captions]],
        )


def split_from_pairs(dataset: str, name: str, pairs: Iterable[Tuple[str, str]]) -> RetrievalSplit:
    """Build a split from (video_id, caption) pairs; videos keep their first-appearance order."""
    position = {}
    captions, index = [], []
    for video_id, caption in pairs:
        index.append(position.setdefault(video_id, len(position)))
        captions.append(caption)
    return RetrievalSplit(dataset, name, list(position), captions, np.asarray(index, dtype=np.int64))
