"""Which frames of a video make a clip, and in what order.

A video has `frame_count` frames on its sampling timeline (pre-extracted frames, or the raw
video seen at the extraction rate). A clip takes at most `max_frames` of them:
- "uniform" (default): the video is cut into `max_frames` equal segments and each gives
  its middle frame, or with a random offset a random frame of the segment (training);
- "linspace": CLIP4Clip's uniform sampling, `max_frames` indices spread evenly from the first
  frame to the last, rounded down (np.linspace(0, n - 1, max_frames), ArrowLuo/CLIP4Clip
  dataloaders/dataloader_msrvtt_retrieval.py:272); the random offset does not apply;
- "head" / "tail": the first / last `max_frames` frames (the random offset does not apply).
A video with `max_frames` frames or fewer gives all of them (the clip is padded and masked).
The taken frames are then kept in order ("normal"), reversed ("reverse") or shuffled ("shuffle").
CLIP4Clip's integer flags are accepted with its meaning: slice_framepos 0=head 1=tail
2=linspace, frame_order 0=normal 1=reverse 2=shuffle.
"""
from typing import Optional, Sequence, Union

import numpy as np

from modules.errors import InputError

SLICE_FRAMEPOS = ("head", "tail", "linspace", "uniform")  # the first three are CLIP4Clip's 0, 1, 2
FRAME_ORDERS = ("normal", "reverse", "shuffle")


def _parse_choice(value: Union[str, int], choices: Sequence[str], flag: str, numbered: int = 3) -> str:
    """A name from `choices`, or its CLIP4Clip integer (position among the first `numbered`)."""
    text = str(value).strip().lower()
    if text in choices:
        return text
    if text.isdigit() and int(text) < numbered:
        return choices[int(text)]
    names = ", ".join(f"{name} ({number})" if number < numbered else name for number, name in enumerate(choices))
    raise InputError(f"{flag} must be one of {names}, got {value!r}")


def parse_slice_framepos(value: Union[str, int]) -> str:
    return _parse_choice(value, SLICE_FRAMEPOS, "slice_framepos")


def parse_frame_order(value: Union[str, int]) -> str:
    return _parse_choice(value, FRAME_ORDERS, "frame_order")


def sample_frame_indices(frame_count: int, max_frames: int, slice_framepos: str,
                         rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Increasing frame indices [min(frame_count, max_frames)]; `rng` draws a random frame per
    uniform segment instead of its middle."""
    if frame_count <= max_frames:
        return np.arange(frame_count)
    if slice_framepos == "head":
        return np.arange(max_frames)
    if slice_framepos == "tail":
        return np.arange(frame_count - max_frames, frame_count)
    if slice_framepos == "linspace":
        return np.linspace(0, frame_count - 1, num=max_frames).astype(np.int64)
    edges = np.arange(max_frames + 1) * frame_count / max_frames  # segment k covers [edges[k], edges[k+1])
    if rng is None:
        return ((edges[:-1] + edges[1:]) / 2).astype(np.int64)
    starts = np.ceil(edges[:-1]).astype(np.int64)
    ends = np.ceil(edges[1:]).astype(np.int64)  # exclusive; every segment holds at least one frame
    return rng.integers(starts, ends)


def order_frames(indices: np.ndarray, frame_order: str, rng: np.random.Generator) -> np.ndarray:
    if frame_order == "reverse":
        return indices[::-1].copy()
    if frame_order == "shuffle":
        return rng.permutation(indices)
    return indices
