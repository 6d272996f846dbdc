"""Extract frames once, so training reads small JPEGs instead of decoding videos.

    python -m preprocess.extract_frames --video_dir videos/ --output_dir frames/ \\
        [--fps 1] [--short_side 224] [--workers N]

Every video below --video_dir (any depth, .mp4/.avi/.mkv/..., its id is the file stem)
gives max(1, round(duration * fps)) frames, the middle frame of each 1/fps interval, resized
to the short side (never upscaled) and stored as JPEG in the layout of
`dataloaders/frame_layout.py`: output_dir/frames/<id>/000000.jpg ... plus manifest.jsonl
(id, frame count, fps, short side, duration, source) that the loader reads instead of
listing folders.

Resumable: a video in the manifest is skipped; frames are written to a temporary folder
that is renamed when complete, so an interrupted video is redone. Videos that cannot be
read (empty, corrupt, no frames) are written to failures.jsonl with the reason (rewritten
each run, so they are retried) and do not stop the run. A frame that cannot be decoded is
left out; a video that gives fewer frames than its header promises (truncated or damaged)
is kept with the frames it has, as partial: its manifest line has `expected_frames` and
failures.jsonl a line with both counts. Whatever the decoder prints about a video (FFmpeg's
"moov atom not found", ...) goes into its failures.jsonl reason instead of the terminal.
"""
import argparse
import json
import multiprocessing
import os
import shutil
import sys
from typing import Dict, Optional, Tuple

import cv2

from dataloaders.frame_layout import (FAILURES_NAME, FRAMES_FOLDER, MANIFEST_NAME, PARTIAL_PREFIX, FrameRecord,
                                      frame_file_name, frame_folder, has_manifest, read_manifest)
from dataloaders.frame_transform import resize_short_side
from dataloaders.native_stderr import captured_stderr
from dataloaders.video_decoding import VideoFile, VideoReadError
from dataloaders.video_files import VIDEO_EXTENSIONS, index_videos_by_stem
from dataloaders.video_timeline import timeline_native_indices
from modules.atomic_file import atomic_path
from modules.errors import InputError
from modules.progress import progress

JPEG_QUALITY = 90  # ~8 KB per 298 x 224 frame of bench/data_loading.py's generated videos

# (video_id, video path, path relative to --video_dir, output_dir, fps, short_side)
Task = Tuple[str, str, str, str, float, int]


def extract_video(task: Task) -> Tuple[Optional[FrameRecord], Optional[dict]]:
    """Write one video's frames -> (record, None) on success, (None, failure) if unreadable,
    (record, failure) if only some frames could be decoded (a truncated or damaged file: the
    readable frames are kept, in order, and the failure line says how many are missing)."""
    video_id, path, source, output_dir, fps, short_side = task
    partial = os.path.join(output_dir, FRAMES_FOLDER, PARTIAL_PREFIX + video_id)
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    written, expected, duration, problem = 0, 0, 0.0, None
    with captured_stderr() as decoder_messages:
        try:
            with VideoFile(path) as video:
                duration = video.frame_count / video.fps
                targets = timeline_native_indices(video.frame_count, video.fps, fps)
                expected = len(targets)
                for _, frame in video.frames(targets):
                    if frame is None:
                        continue
                    if min(frame.shape[:2]) > short_side:
                        frame = resize_short_side(frame, short_side)
                    data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1]
                    with open(os.path.join(partial, frame_file_name(written)), "wb") as handle:
                        handle.write(data.tobytes())
                    written += 1
            if written == 0:
                problem = "no frame could be decoded"
        except (VideoReadError, cv2.error) as error:
            problem = str(error)
    said = f"; the decoder says: {'; '.join(decoder_messages)}" if decoder_messages else ""
    if problem:
        shutil.rmtree(partial, ignore_errors=True)
        return None, {"id": video_id, "source": source, "reason": problem + said}
    final = frame_folder(output_dir, video_id)
    shutil.rmtree(final, ignore_errors=True)  # left by a run stopped before writing its manifest line
    os.rename(partial, final)
    record = FrameRecord(video_id, written, fps, short_side, round(duration, 3), source, expected_frames=expected)
    return record, partial_failure(record, said) if record.missing_frames else None


def partial_failure(record: FrameRecord, detail: str = "") -> dict:
    """The failures.jsonl line of a video extracted only in part."""
    reason = (f"partial: {record.frames} of {record.expected_frames} frames could be decoded (truncated or damaged "
              f"file); the readable ones were kept{detail}")
    return {"id": record.id, "source": record.source, "frames": record.frames,
            "expected_frames": record.expected_frames, "reason": reason}


def _previous_records(output_dir: str, fps: float, short_side: int) -> Dict[str, FrameRecord]:
    """Records of an earlier run into `output_dir`, which must have used the same settings;
    the manifest is rewritten without a line truncated by an interruption."""
    if not has_manifest(output_dir):
        return {}
    records = read_manifest(output_dir)
    other = next((r for r in records.values() if (r.fps, r.short_side) != (fps, short_side)), None)
    if other is not None:
        raise InputError(f"{output_dir} holds frames extracted at fps {other.fps:g}, short side {other.short_side}; "
                         f"resume with those settings or use another --output_dir")
    with atomic_path(os.path.join(output_dir, MANIFEST_NAME)) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.writelines(record.to_json() + "\n" for record in records.values())
    return records


def _disable_opencv_threads() -> None:
    cv2.setNumThreads(1)  # each worker process is one unit of parallelism


def extract_frames(video_dir: str, output_dir: str, fps: float = 1.0, short_side: int = 224,
                   workers: int = 1) -> Dict[str, int]:
    """Extract every video of `video_dir` not yet done -> {"extracted", "skipped", "failed", "partial"}
    counts (a partial video is also counted as extracted, or skipped if done before)."""
    if not fps > 0 or short_side < 1 or workers < 1:
        raise InputError(f"--fps and --short_side and --workers must be positive, got {fps}, {short_side}, {workers}")
    videos = index_videos_by_stem(video_dir)
    if not videos:
        raise InputError(f"no video files ({' '.join(VIDEO_EXTENSIONS)}) below {video_dir}")
    frames_root = os.path.join(output_dir, FRAMES_FOLDER)
    os.makedirs(frames_root, exist_ok=True)
    done = _previous_records(output_dir, fps, short_side)
    for name in os.listdir(frames_root):
        if name.startswith(PARTIAL_PREFIX):
            shutil.rmtree(os.path.join(frames_root, name))
    tasks = [(video_id, path, os.path.relpath(path, video_dir), output_dir, fps, short_side)
             for video_id, path in sorted(videos.items()) if video_id not in done]
    counts = {"extracted": 0, "skipped": len(videos) - len(tasks), "failed": 0, "partial": 0}
    with open(os.path.join(output_dir, MANIFEST_NAME), "a", encoding="utf-8") as manifest, \
            open(os.path.join(output_dir, FAILURES_NAME), "w", encoding="utf-8") as failures:
        for record in done.values():  # failures.jsonl is rewritten: keep the partial videos of earlier runs
            if record.missing_frames and record.id in videos:
                failures.write(json.dumps(partial_failure(record, " (in an earlier run)"), ensure_ascii=False) + "\n")
                counts["partial"] += 1
        pool = multiprocessing.Pool(workers, initializer=_disable_opencv_threads) if workers > 1 else None
        try:
            results = pool.imap_unordered(extract_video, tasks) if pool else map(extract_video, tasks)
            for record, failure in progress(results, desc="extracting frames", total=len(tasks), unit="video"):
                if record is not None:
                    manifest.write(record.to_json() + "\n")
                    manifest.flush()
                    counts["extracted"] += 1
                if failure is not None:
                    failures.write(json.dumps(failure, ensure_ascii=False) + "\n")
                    failures.flush()
                    counts["failed" if record is None else "partial"] += 1
        finally:
            if pool is not None:
                pool.terminate()
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video_dir", required=True, help="folder of videos (searched recursively)")
    parser.add_argument("--output_dir", required=True, help="where frames/, manifest.jsonl, failures.jsonl go")
    parser.add_argument("--fps", type=float, default=1.0, help="frames per second of video to keep (default 1)")
    parser.add_argument("--short_side", type=int, default=224, help="short side of the stored frames (default 224)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (default: all cores)")
    args = parser.parse_args(argv)
    try:
        counts = extract_frames(args.video_dir, args.output_dir, args.fps, args.short_side, args.workers)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"extracted {counts['extracted']} videos, skipped {counts['skipped']} already done, "
          f"{counts['failed']} failed, {counts['partial']} partial (frames missing from a damaged file)"
          + (f" (see {os.path.join(args.output_dir, FAILURES_NAME)})" if counts["failed"] or counts["partial"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
