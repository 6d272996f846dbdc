"""Write a planned dataset: MJPG videos and MSR-VTT's annotation files plus the synthetic extras.

Videos are Motion-JPEG (.avi): every frame is compressed on its own, so a frame decodes the
same wherever it sits in a video, and twins decode to exactly the same frames in another
order. An inter-frame codec (mp4v) codes most frames as differences from the last key frame
and loses quality along each group of pictures; the decoded twins then differ in quality
with time, which leaks the direction of time to any head (docs/demo.md).
"""
import csv
import json
import os

import cv2
import numpy as np

from dataloaders.caption_kinds import CAPTION_KINDS_FILE
from dataloaders.twin_pairs import TWIN_FILES
from modules.progress import progress
from preprocess.synthetic.plan import video_number

VIDEO_FOURCC = "MJPG"
VIDEO_EXTENSION = ".avi"


def write_video(path: str, frames: np.ndarray, fps: int) -> None:
    """Encode RGB `frames` [T, H, W, 3] as a Motion-JPEG .avi file."""
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*VIDEO_FOURCC), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {VIDEO_FOURCC} video to {path}")
    for frame in frames:
        writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
    writer.release()


def write_videos(videos_dir: str, plan: list, size: int, fps: int) -> None:
    """Render and write every planned video (rendering is a pure function of the states, so twins match)."""
    for video in progress(plan, desc="synthetic videos", total=len(plan), unit="video"):
        write_video(os.path.join(videos_dir, video.video_id + VIDEO_EXTENSION), video.spec.render(size, fps), fps)


def _write_csv(path: str, header: list, rows: list) -> None:
    """A comma-separated file with a header row and Unix line ends (quoting only where needed)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_annotations(annotations_dir: str, plan: list) -> None:
    """MSR-VTT's files (MSRVTT_data.json, the train lists, the 1k-A test csv), the twin pairs of every
    split (time-reversed, event-swapped, events-reversed) and the kind of every caption (with the position of the event a
    one-event caption describes)."""
    videos = [{"video_id": video.video_id, "category": len(video.spec.events), "url": f"synthetic://{video.video_id}",
               "start time": 0.0, "end time": float(video.spec.key_states), "split": video.split,
               "id": video_number(video.video_id)} for video in plan]
    pairs = [(video.video_id, caption) for video in plan for caption, *_ in video.captions]
    sentences = [{"caption": caption, "video_id": video_id, "sen_id": sen_id}
                 for sen_id, (video_id, caption) in enumerate(pairs)]
    with open(os.path.join(annotations_dir, "MSRVTT_data.json"), "w", encoding="utf-8") as handle:
        json.dump({"videos": videos, "sentences": sentences}, handle)
    train_rows = [[video.video_id] for video in plan if video.split == "train"]
    for name in ("MSRVTT_train.9k.csv", "MSRVTT_train.7k.csv"):
        _write_csv(os.path.join(annotations_dir, name), ["video_id"], train_rows)
    test = [video for video in plan if video.split == "test"]
    _write_csv(os.path.join(annotations_dir, "MSRVTT_JSFUSION_test.csv"), ["key", "vid_key", "video_id", "sentence"],
               [[f"ret{index}", f"msr{video_number(video.video_id)}", video.video_id, video.captions[0][0]]
                for index, video in enumerate(test)])
    for relation, (file_name, column) in TWIN_FILES.items():
        _write_csv(os.path.join(annotations_dir, file_name), ["video_id", column],
                   [[video.video_id, video.twins[relation]] for video in plan if relation in video.twins])
    _write_csv(os.path.join(annotations_dir, CAPTION_KINDS_FILE), ["video_id", "caption", "kind", "event"],
               sorted({(video.video_id, caption, kind, -1 if event is None else event)
                       for video in plan for caption, kind, event in video.captions},
                      key=lambda row: (video_number(row[0]), row[1])))
