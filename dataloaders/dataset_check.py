"""A dataset as a run would read it, checked before hours of training: the annotation files
through the registry's readers and the frames folder through the video source, without
decoding frames (pre-extracted frames: the manifest's counts and a folder test per video;
video files: opened and their first frame decoded, as `restrict` does before training).

Per split: videos listed, with frames, missing (with why, for the first few), captions, frames
per video (min / median / max) and videos extracted only in part. `problems` names what stops
a run from using the whole split: missing videos, per split, with a count and the first ids.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from dataloaders.registry import load_retrieval_splits
from dataloaders.video_source import VideoSource, open_video_source

SHOWN = 5  # missing ids named per split


@dataclass(frozen=True)
class SplitCheck:
    name: str
    listed: int                       # videos in the annotation files
    captions: int                     # captions of the listed videos
    missing: List[Tuple[str, str]]    # (video id, why it has no frames), in annotation order
    frame_counts: np.ndarray          # [videos with frames] frames per video
    partial: int                      # videos with frames extracted only in part

    @property
    def with_frames(self) -> int:
        return self.listed - len(self.missing)


def check_split(split, source: VideoSource) -> SplitCheck:
    missing, counts, partial = [], [], 0
    for video_id in split.video_ids:
        reason = source.missing_reason(video_id)
        if reason:
            missing.append((video_id, reason))
        else:
            counts.append(source.frame_count(video_id))
            partial += source.partial_note(video_id) is not None
    return SplitCheck(split.name, len(split.video_ids), len(split.captions), missing,
                      np.asarray(counts, dtype=np.int64), partial)


def check_dataset(datatype: str, data_path: str, features_path: str, msrvtt_split: str = "9k",
                  splits: Optional[Sequence[str]] = None) -> Tuple[VideoSource, Dict[str, SplitCheck]]:
    """(the video source, {split name: SplitCheck}) for the splits named in `splits` (default: all
    the dataset has); bad annotation files or a bad frames folder raise InputError."""
    annotations = load_retrieval_splits(datatype, data_path, msrvtt_split=msrvtt_split)
    source = open_video_source(features_path)
    names = [name for name in annotations if splits is None or name in splits]
    return source, {name: check_split(annotations[name], source) for name in names}


def report_lines(checks: Dict[str, SplitCheck]) -> List[str]:
    """A table: one line per split."""
    lines = [f"{'split':<6} {'videos':>8} {'with frames':>12} {'missing':>8} {'captions':>9}  frames per video "
             "(min / median / max)"]
    for check in checks.values():
        counts = check.frame_counts
        frames = (f"{counts.min()} / {np.median(counts):g} / {counts.max()}" if len(counts) else "-")
        if check.partial:
            frames += f" ({check.partial} extracted only in part)"
        lines.append(f"{check.name:<6} {check.listed:>8} {check.with_frames:>12} {len(check.missing):>8} "
                     f"{check.captions:>9}  {frames}")
    return lines


def problems(dataset: str, source: VideoSource, checks: Dict[str, SplitCheck]) -> List[str]:
    """One line per split with missing videos: how many, the first ids and why."""
    found = []
    for check in checks.values():
        if check.missing:
            shown = "; ".join(f"{video_id} ({source.location(video_id)}: {why})"
                              for video_id, why in check.missing[:SHOWN])
            more = f"; ... {len(check.missing) - SHOWN} more" if len(check.missing) > SHOWN else ""
            found.append(f"{dataset} {check.name}: {len(check.missing)} of {check.listed} videos have no frames in "
                         f"{source.root}: {shown}{more}")
    return found
