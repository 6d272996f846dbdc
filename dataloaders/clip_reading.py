"""Read one video as a fixed-size clip: sample frames, decode, resize + crop, pad, mask."""
from dataclasses import dataclass
from typing import Tuple, Union

import cv2
import numpy as np
import torch

from dataloaders.frame_sampling import order_frames, parse_frame_order, parse_slice_framepos, sample_frame_indices
from dataloaders.frame_transform import to_clip_frame
from dataloaders.video_source import VideoSource
from modules.errors import InputError


@dataclass(frozen=True)
class ClipSpec:
    """How a clip is made; the frame flags accept names or CLIP4Clip's integers."""
    max_frames: int
    image_size: int
    slice_framepos: Union[str, int]
    frame_order: Union[str, int]
    random_offset: bool  # a random frame per uniform segment instead of its middle

    def __post_init__(self):
        if self.max_frames < 1 or self.image_size < 1:
            raise InputError(f"max_frames and image_size must be positive, got {self.max_frames}, {self.image_size}")
        object.__setattr__(self, "slice_framepos", parse_slice_framepos(self.slice_framepos))
        object.__setattr__(self, "frame_order", parse_frame_order(self.frame_order))


def read_clip(source: VideoSource, dataset: str, video_id: str, spec: ClipSpec,
              rng: np.random.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
    """-> video [max_frames, 3, image_size, image_size] uint8 RGB, video_mask [max_frames] bool
    (True for the real frames, which come first; the rest are zero padding)."""
    def choose(frame_count: int) -> np.ndarray:
        indices = sample_frame_indices(frame_count, spec.max_frames, spec.slice_framepos,
                                       rng if spec.random_offset else None)
        return order_frames(indices, spec.frame_order, rng)

    video = torch.empty(spec.max_frames, 3, spec.image_size, spec.image_size, dtype=torch.uint8)
    planes = video.numpy()  # shares memory with `video`
    count = 0
    for frame in source.read_frames(dataset, video_id, choose):  # one decoded frame alive at a time
        # [S, S, 3] -> three [S, S] planes written in place: a third of the cost of a permuted copy
        cv2.split(to_clip_frame(frame, spec.image_size), list(planes[count]))
        count += 1
    if count == 0:
        raise InputError(f"{dataset} {video_id}: no readable frame in {source.location(video_id)}")
    video[count:] = 0
    return video, torch.arange(spec.max_frames) < count
