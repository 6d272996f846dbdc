"""The frames a video contributes when it is sampled at `fps` frames per second.

Shared by frame extraction and the raw-video path, so that both see the same frames: the
video is cut into max(1, round(duration * fps)) equal intervals and each interval gives its
middle frame (a 15 s clip at 1 fps gives the frames at 0.5 s, 1.5 s, ..., 14.5 s; a clip
shorter than one interval still gives its middle frame).
"""
import numpy as np


def timeline_frame_count(native_frame_count: int, native_fps: float, fps: float) -> int:
    return max(1, round(native_frame_count / native_fps * fps))


def timeline_native_indices(native_frame_count: int, native_fps: float, fps: float) -> np.ndarray:
    """Native frame index [timeline_frame_count] of every frame on the `fps` timeline."""
    count = timeline_frame_count(native_frame_count, native_fps, fps)
    return ((np.arange(count) + 0.5) * native_frame_count / count).astype(np.int64)
