import cv2
import numpy as np
import pytest

from dataloaders.video_decoding import VideoFile, VideoReadError, plan_seeks, scan_keyframes
from tests.support.videos import frame_number, write_test_video


def all_frames(path):
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def test_plan_seeks_where_the_landing_keyframe_is_ahead():
    every_12 = np.arange(0, 200, 12)
    assert plan_seeks([5, 40, 45, 100], every_12) == [False, True, False, True]
    assert plan_seeks([5, 40, 45, 100], np.array([0])) == [False] * 4  # one keyframe: always read on
    assert plan_seeks([30, 31], np.arange(200)) == [True, False]
    assert plan_seeks([3], every_12, next_frame=50) == [True]  # behind the read position


@pytest.mark.parametrize("fourcc, extension, keyframe_step", [("mp4v", ".mp4", 12), ("MJPG", ".avi", 1)])
def test_chosen_frames_equal_sequential_decoding_with_and_without_seeks(tmp_path, fourcc, extension, keyframe_step):
    path = write_test_video(tmp_path / f"clip{extension}", 80, fourcc=fourcc)
    keyframes, packets = scan_keyframes(path)
    assert packets == 80
    assert keyframes.tolist() == list(range(0, 80, keyframe_step))
    targets = [3, 30, 31, 66, 79]
    assert any(plan_seeks(targets, keyframes)) and not all(plan_seeks(targets, keyframes))
    reference = all_frames(path)
    with VideoFile(path) as video:
        assert (video.frame_count, video.fps) == (80, 8.0)
        decoded = list(video.frames(targets))
    assert [index for index, _ in decoded] == targets
    for index, frame in decoded:
        assert np.array_equal(frame, reference[index])
        assert frame_number(frame[..., ::-1]) == index


def test_frames_past_the_end_are_none(tmp_path):
    with VideoFile(write_test_video(tmp_path / "short.mp4", 10)) as video:
        decoded = dict(video.frames([2, 9, 10, 40]))
    assert decoded[2] is not None and decoded[9] is not None
    assert decoded[10] is None and decoded[40] is None


def test_empty_and_garbage_files_are_not_videos(tmp_path):
    empty, garbage = tmp_path / "empty.mp4", tmp_path / "garbage.avi"
    empty.write_bytes(b"")
    garbage.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    with pytest.raises(VideoReadError, match="empty file"):
        VideoFile(str(empty))
    with pytest.raises(VideoReadError, match="cannot be opened"):
        VideoFile(str(garbage))
