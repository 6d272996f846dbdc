"""The pre-extracted frame layout, written by `preprocess/extract_frames.py`:

    <root>/manifest.jsonl       one JSON object per finished video:
                                {"id": "video0", "frames": 15, "fps": 1.0, "short_side": 224,
                                 "duration": 15.02, "source": "video0.mp4", "expected_frames": 15}
    <root>/failures.jsonl       {"id", "source", "reason"} per video the last run could not read,
                                and {"id", "source", "reason", "frames", "expected_frames"} per
                                video it could read only in part
    <root>/frames/<id>/000000.jpg ... {frames - 1:06d}.jpg
                                JPEG, short side `short_side` (or the native one if smaller)

The manifest gives each video's frame count, so a loader finds any frame by name without
listing a directory. A video's folder appears by renaming a finished temporary folder
(frames/.partial-<id>) and its manifest line is appended after that, so an interrupted
extraction leaves at most a temporary folder, a folder without its manifest line and a
truncated last manifest line: the loader ignores them and a resumed extraction redoes them.

A partial extraction (a truncated or damaged file: fewer frames could be decoded than its
header promises) is kept with the frames that could be read, in order, and `expected_frames`
says how many there should have been; loaders report such videos with a count.
"""
import json
import os
from dataclasses import asdict, dataclass
from typing import Dict, Optional

from modules.errors import InputError

MANIFEST_NAME = "manifest.jsonl"
FAILURES_NAME = "failures.jsonl"
FRAMES_FOLDER = "frames"
PARTIAL_PREFIX = ".partial-"


@dataclass(frozen=True)
class FrameRecord:
    id: str
    frames: int         # JPEGs 0 .. frames-1 in frame_folder(root, id)
    fps: float          # extraction rate (frames per second of video)
    short_side: int     # requested short side (frames are never upscaled)
    duration: float     # seconds of source video
    source: str         # video file, relative to the extraction's --video_dir
    expected_frames: Optional[int] = None  # what the header promised; more than `frames` if partial
                                           # (None in manifests written before it was recorded)

    @property
    def missing_frames(self) -> int:
        """Frames the video's header promised that could not be decoded (0: a complete extraction)."""
        return max(0, self.expected_frames - self.frames) if self.expected_frames is not None else 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def frame_folder(root: str, video_id: str) -> str:
    return os.path.join(root, FRAMES_FOLDER, video_id)


def frame_file_name(index: int) -> str:
    return f"{index:06d}.jpg"


def has_manifest(root: str) -> bool:
    return os.path.isfile(os.path.join(root, MANIFEST_NAME))


def read_manifest(root: str) -> Dict[str, FrameRecord]:
    """{id: FrameRecord}; a truncated last line (an interrupted run) is ignored, any other
    malformed line is an error with its line number."""
    path = os.path.join(root, MANIFEST_NAME)
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    records = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = FrameRecord(**json.loads(line))
            if record.frames < 1:
                raise ValueError("frames must be at least 1")
        except (ValueError, TypeError) as error:
            if number == len(lines):  # no newline after it: the writer was interrupted
                continue
            raise InputError(f"{path} line {number}: not a frame manifest record ({error})") from None
        records[record.id] = record
    return records
