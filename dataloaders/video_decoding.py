"""Decode chosen frames of a video file with OpenCV (FFmpeg backend from PyPI, one thread).

Reaching a frame costs decoding either every frame up to it (reading on) or, after a seek,
the frames from a keyframe to it. OpenCV's FFmpeg seek lands SEEK_BACKOFF_FRAMES before the
target, backs up to the keyframe before that point and decodes forward, so a seek costs
`target - keyframe + 1` decodes (measured: 12 seeks in a 30 fps MPEG-4 file with a keyframe
every 12 frames cost the same as decoding those ~22 frames each). The keyframe positions
come from a scan of the compressed packets (no decoding, about 1% of the decode time), and
each target is reached by whichever of the two decodes fewer frames.
"""
import os
from typing import Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from dataloaders.native_stderr import captured_stderr

SEEK_BACKOFF_FRAMES = 16  # frames before the target where cv::VideoCapture's FFmpeg seek lands


class VideoReadError(Exception):
    """The file is not a decodable video (the caller adds the dataset and id)."""


def open_capture(path: str, raw_packets: bool = False) -> cv2.VideoCapture:
    """A capture decoding on one thread (DataLoader workers supply the parallelism);
    `raw_packets` returns compressed packets without decoding."""
    if os.path.getsize(path) == 0:
        raise VideoReadError("empty file (0 bytes)")
    # OpenCV's own warning for a file it cannot open ("backend is generally available but can't
    # be used to capture by name") adds nothing to FFmpeg's reason, which callers capture.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    params = [cv2.CAP_PROP_N_THREADS, 1] + ([cv2.CAP_PROP_FORMAT, -1] if raw_packets else [])
    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        raise VideoReadError("cannot be opened as a video (empty, truncated or not a video file)")
    return capture


def scan_keyframes(path: str) -> Tuple[np.ndarray, int]:
    """(indices of the keyframe packets, number of packets) from the compressed stream."""
    capture = open_capture(path, raw_packets=True)
    keyframes, packets = [], 0
    while capture.grab():
        if capture.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME):
            keyframes.append(packets)
        packets += 1
    capture.release()
    return np.asarray(keyframes or [0], dtype=np.int64), packets


def plan_seeks(targets: Sequence[int], keyframes: np.ndarray, next_frame: int = 0) -> List[bool]:
    """For increasing `targets`, decoding from `next_frame` on: seek to target i (True) or read
    on from target i-1 (False). Seeking decodes from the keyframe where the seek lands,
    reading on from the frame after the previous target, so seeking wins exactly when that
    keyframe lies further ahead (or reading on would have to go backwards)."""
    plan = []
    for target in targets:
        landing = max(target - SEEK_BACKOFF_FRAMES, 0)
        keyframe = keyframes[max(np.searchsorted(keyframes, landing, side="right") - 1, 0)]
        plan.append(bool(keyframe > next_frame or target < next_frame))
        next_frame = target + 1
    return plan


class VideoFile:
    """An open video file: its frame count and fps, and `frames(indices)` to decode some."""

    def __init__(self, path: str):
        self.path = path
        self._capture = open_capture(path)
        self.fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self._keyframes: Optional[np.ndarray] = None
        self._position = 0  # index of the frame the next grab() returns
        self.stream_end: Optional[int] = None  # first frame whose grab failed: the readable stream ends before it
        if self.frame_count <= 0:  # some containers do not store it; the packets tell
            self._keyframes, self.frame_count = scan_keyframes(path)
        if self.frame_count <= 0 or not self.fps > 0:
            self.close()
            raise VideoReadError(f"no video frames (frame count {self.frame_count}, fps {self.fps})")

    def frames(self, indices: Sequence[int]) -> Iterator[Tuple[int, Optional[np.ndarray]]]:
        """(index, [H, W, 3] uint8 BGR frame, or None if it cannot be decoded) for increasing
        `indices`. A failed grab usually means the stream is shorter than its header says
        (a truncated file): `stream_end` records where, and the frames after it are None as
        well unless a seek reaches them."""
        targets = [int(i) for i in indices]
        gaps = np.diff([self._position - 1] + targets)
        if self._keyframes is None and len(targets) and gaps.max() > SEEK_BACKOFF_FRAMES + 1:
            self._keyframes = scan_keyframes(self.path)[0]
        keyframes = self._keyframes if self._keyframes is not None else np.zeros(1, dtype=np.int64)
        ended = False
        for target, seek in zip(targets, plan_seeks(targets, keyframes, self._position)):
            if seek:
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, target)
                self._position, ended = target, False
            while not ended and self._position <= target:
                ended = not self._capture.grab()
                if ended and (self.stream_end is None or self._position < self.stream_end):
                    self.stream_end = self._position
                self._position += 1
            yield target, None if ended else self._capture.retrieve()[1]

    def close(self) -> None:
        self._capture.release()

    def __enter__(self) -> "VideoFile":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def unreadable_reason(path: str) -> Optional[str]:
    """Why the video cannot give a single frame (not a video, cut short before its first
    frame, a truncated mp4 without its index), or None. It opens the file and decodes the
    first frame only, so that every video of a split can be checked before training."""
    with captured_stderr() as decoder_messages:
        try:
            with VideoFile(path) as video:
                problem = None if next(video.frames([0]))[1] is not None else "its first frame cannot be decoded"
        except VideoReadError as error:
            problem = str(error)
    if problem and decoder_messages:
        problem += f"; the decoder says: {'; '.join(decoder_messages)}"
    return problem
