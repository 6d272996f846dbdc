"""Where a video's frames come from: pre-extracted JPEGs (with a manifest) or the video file.

`open_video_source(features_path)` picks the kind from the folder: one with
`manifest.jsonl` holds pre-extracted frames (see `frame_layout.py`), any other is searched
(once, whole tree, by file stem) for video files that are decoded on the fly.

Bad input:
- a video without frames (not extracted, failed extraction, no or empty video file, a video
  file that cannot be opened or whose first frame cannot be decoded, e.g. a truncated mp4):
  `restrict(split, on_missing)` drops it and its captions and logs the count with a few
  ids and paths ("skip", the default), or raises an InputError listing them ("error").
  Raw videos are checked by opening each and decoding its first frame, before training;
- a video extracted only in part (`expected_frames` in the manifest) is kept with the frames
  it has, and `restrict` counts such videos in a warning;
- a video file that ends before the frame count of its header (truncated) gives its clip
  from the frames it still has, with a warning;
- an unreadable frame at read time (corrupt or truncated JPEG, undecodable video frame) is
  dropped from the clip, whose later frames move up, so the mask marks only real frames,
  and a warning names the dataset, id, path and why; a clip with no readable frame left is
  an InputError. A model never receives an all-zero clip.
"""
import logging
import os
from abc import ABC, abstractmethod
from typing import Callable, Dict, Iterator, Optional

import cv2
import numpy as np

from dataloaders.frame_layout import FrameRecord, frame_file_name, frame_folder, has_manifest, read_manifest
from dataloaders.jpeg_decoding import UnreadableImage, decode_jpeg_rgb
from dataloaders.native_stderr import captured_stderr
from dataloaders.retrieval_split import RetrievalSplit
from dataloaders.video_decoding import VideoFile, VideoReadError, unreadable_reason
from dataloaders.video_files import index_videos_by_stem
from dataloaders.video_timeline import timeline_frame_count, timeline_native_indices
from modules.errors import InputError

logger = logging.getLogger(__name__)

ON_MISSING = ("skip", "error")
# Given a video's frame count, the frame indices to read, in clip order.
FrameChooser = Callable[[int], np.ndarray]


class VideoSource(ABC):
    kind: str  # "frames" (pre-extracted) or "videos" (decoded on the fly)

    def __init__(self, root: str):
        self.root = root

    @abstractmethod
    def location(self, video_id: str) -> str:
        """The folder or file that holds (or would hold) the video's frames."""

    @abstractmethod
    def missing_reason(self, video_id: str) -> Optional[str]:
        """Why the video has no frames here, or None when it has."""

    @abstractmethod
    def read_frames(self, dataset: str, video_id: str, choose: FrameChooser) -> Iterator[np.ndarray]:
        """The frames `choose(frame_count)` names, in that order, as [H, W, 3] uint8 RGB;
        unreadable ones are left out with a warning."""

    @abstractmethod
    def frame_count(self, video_id: str) -> int:
        """Frames of a video that has some here, as the clip sampling sees them (no frame decoded)."""

    def partial_note(self, video_id: str) -> Optional[str]:
        """How much of the video could not be read (a partial extraction), or None."""
        return None

    def restrict(self, split: RetrievalSplit, on_missing: str = "skip") -> RetrievalSplit:
        """The split without the videos that have no frames here (and their captions); the
        videos that have only part of their frames are kept and counted in a warning."""
        if on_missing not in ON_MISSING:
            raise InputError(f"on_missing must be one of {', '.join(ON_MISSING)}, got {on_missing!r}")
        reasons = [self.missing_reason(video_id) for video_id in split.video_ids]
        missing = [i for i, reason in enumerate(reasons) if reason]
        kept = split
        if missing:
            kept = self._drop_missing(split, reasons, missing, on_missing)
        partial = [f"{video_id} ({note})" for video_id in kept.video_ids
                   for note in [self.partial_note(video_id)] if note]
        if partial:
            logger.warning("%s %s: %d of %d videos were extracted only in part (truncated or damaged files) and are "
                           "used with the frames they have, e.g. %s", split.dataset, split.name, len(partial),
                           len(kept.video_ids), "; ".join(partial[:5]))
        return kept

    def _drop_missing(self, split: RetrievalSplit, reasons, missing, on_missing: str) -> RetrievalSplit:
        shown = 20 if on_missing == "error" else 5
        examples = "; ".join(f"{split.video_ids[i]} ({self.location(split.video_ids[i])}: {reasons[i]})"
                             for i in missing[:shown])
        if len(missing) > shown:
            examples += f"; ... {len(missing) - shown} more"
        summary = (f"{split.dataset} {split.name}: {len(missing)} of {len(split.video_ids)} videos have no "
                   f"frames in {self.root}")
        if on_missing == "error":
            raise InputError(f"{summary} (on_missing=error): {examples}")
        keep = np.array([reason is None for reason in reasons])
        kept = split.keep_videos(keep)
        if not kept.video_ids:
            raise InputError(f"{summary}: none left: {examples}")
        logger.warning("%s; skipped with their %d captions, e.g. %s", summary,
                       len(split.captions) - len(kept.captions), examples)
        return kept

    def _warn_unreadable(self, dataset: str, video_id: str, what: str, why: str) -> None:
        logger.warning("%s %s: %s is unreadable (%s); dropped from the clip (masked)", dataset, video_id, what, why)


class FrameFolderSource(VideoSource):
    """JPEG frames written by preprocess/extract_frames.py; counts come from the manifest."""
    kind = "frames"

    def __init__(self, root: str):
        super().__init__(root)
        self.manifest: Dict[str, FrameRecord] = read_manifest(root)
        self.description = f"pre-extracted frames in {root} ({len(self.manifest)} videos in the manifest)"

    def location(self, video_id: str) -> str:
        return frame_folder(self.root, video_id)

    def missing_reason(self, video_id: str) -> Optional[str]:
        if video_id not in self.manifest:
            return "not in manifest.jsonl (not extracted, or listed in failures.jsonl)"
        if not os.path.isdir(self.location(video_id)):
            return "in the manifest but the folder is missing"
        return None

    def frame_count(self, video_id: str) -> int:
        return self.manifest[video_id].frames

    def partial_note(self, video_id: str) -> Optional[str]:
        record = self.manifest[video_id]
        return f"{record.frames} of {record.expected_frames} frames" if record.missing_frames else None

    def read_frames(self, dataset: str, video_id: str, choose: FrameChooser) -> Iterator[np.ndarray]:
        folder = self.location(video_id)
        for index in choose(self.manifest[video_id].frames):
            path = os.path.join(folder, frame_file_name(int(index)))
            try:
                with open(path, "rb") as handle:
                    frame = decode_jpeg_rgb(handle.read())
            except (OSError, UnreadableImage) as error:
                self._warn_unreadable(dataset, video_id, f"frame {path}", str(error))
            else:
                yield frame


class RawVideoSource(VideoSource):
    """Video files decoded on the fly, seen at `fps` frames per second as extraction would."""
    kind = "videos"

    def __init__(self, root: str, fps: float):
        super().__init__(root)
        if not fps > 0:
            raise InputError(f"the raw-video frame rate must be positive, got {fps}")
        self.fps = fps
        self.paths = index_videos_by_stem(root)
        self.description = f"raw videos in {root} ({len(self.paths)} files, decoded at {fps:g} fps)"

    def location(self, video_id: str) -> str:
        return self.paths.get(video_id, os.path.join(self.root, "**", video_id + ".*"))

    def missing_reason(self, video_id: str) -> Optional[str]:
        if video_id not in self.paths:
            return "no video file with this name"
        if os.path.getsize(self.paths[video_id]) == 0:
            return "empty video file (0 bytes)"
        return unreadable_reason(self.paths[video_id])

    def frame_count(self, video_id: str) -> int:
        """From the file's header (a truncated file may give fewer when read)."""
        with captured_stderr(), VideoFile(self.paths[video_id]) as video:
            return timeline_frame_count(video.frame_count, video.fps, self.fps)

    def _timeline_frames(self, video: VideoFile, native_count: int, choose: FrameChooser):
        """(native indices of the chosen frames in clip order, {native index: BGR frame or None})
        when the video's first `native_count` frames are its whole timeline."""
        chosen = choose(timeline_frame_count(native_count, video.fps, self.fps))
        native = timeline_native_indices(native_count, video.fps, self.fps)[chosen]
        return native, dict(video.frames(np.unique(native)))

    def read_frames(self, dataset: str, video_id: str, choose: FrameChooser) -> Iterator[np.ndarray]:
        """A file that ends before the frame count of its header (truncated) is read as the
        video it still holds: the clip is chosen again among the frames before the end."""
        path = self.paths[video_id]
        with captured_stderr() as decoder_messages:
            try:
                with VideoFile(path) as video:
                    header_count = video.frame_count
                    native, decoded = self._timeline_frames(video, header_count, choose)
                    readable = video.stream_end
                    if readable is not None and readable > 0:
                        native, decoded = self._timeline_frames(video, readable, choose)
            except VideoReadError as error:
                raise InputError(f"{dataset} {video_id}: {path}: {error}") from None
        said = f" (the decoder says: {'; '.join(decoder_messages)})" if decoder_messages else ""
        if readable is not None and readable > 0:
            logger.warning("%s %s: %s ends after %d of the %d frames its header gives (truncated?); the clip is "
                           "sampled from those%s", dataset, video_id, path, readable, header_count, said)
        elif decoder_messages:
            logger.warning("%s %s: decoding %s%s", dataset, video_id, path, said)
        for index in native:
            if decoded[index] is None:
                self._warn_unreadable(dataset, video_id, f"frame {index} of {path}", "it cannot be decoded")
            else:
                yield cv2.cvtColor(decoded[index], cv2.COLOR_BGR2RGB)


def open_video_source(features_path: str, raw_fps: float = 1.0) -> VideoSource:
    """Pre-extracted frames if `features_path` holds a manifest, else its video files decoded
    at `raw_fps` (CLIP4Clip's --feature_framerate). `.kind` and `.description` say which."""
    if not os.path.isdir(features_path):
        raise InputError(f"--features_path is not a folder: {features_path}")
    if has_manifest(features_path):
        source: VideoSource = FrameFolderSource(features_path)
    else:
        source = RawVideoSource(features_path, raw_fps)
        if not source.paths:
            raise InputError(f"{features_path} holds neither pre-extracted frames (manifest.jsonl) nor video files")
    logger.info("video source: %s", source.description)
    return source
