import cv2
import numpy as np
import pytest

from dataloaders.video_decoding import VideoFile, VideoReadError, plan_seeks, scan_keyframes

FRAME_WIDTH, FRAME_HEIGHT = 32, 24


def frame_color(index):
    """RGB colour that identifies frame `index` (< 84) after lossy coding (errors up to ~10
    measured): green carries index % 12 in steps of 18, blue index // 12 in steps of 36."""
    return 220, 12 + 18 * (index % 12), 20 + 36 * (index // 12)


def frame_number(rgb_frame):
    """Inverse of frame_color, read from the centre of a decoded [H, W, 3] RGB frame (the
    centre survives resizing and centre crops)."""
    height, width = rgb_frame.shape[:2]
    centre = rgb_frame[height // 2 - 2:height // 2 + 2, width // 2 - 2:width // 2 + 2].astype(float)
    green, blue = centre[..., 1].mean(), centre[..., 2].mean()
    return int(round((green - 12) / 18)) + 12 * int(round((blue - 20) / 36))


def write_test_video(path, frame_count, fps=8.0, fourcc="mp4v"):
    """A tiny 32 x 24 video: a fixed gradient with a central patch of colour frame_color(i)
    in frame i. The gradient keeps MPEG-4 from coding every frame as a keyframe (it puts one
    every 12 frames); MJPG makes every frame a keyframe."""
    rows, columns = np.mgrid[0:FRAME_HEIGHT, 0:FRAME_WIDTH]
    background = np.stack([columns * 4, rows * 5, np.full_like(rows, 100)], axis=-1).astype(np.uint8)  # BGR
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (FRAME_WIDTH, FRAME_HEIGHT))
    assert writer.isOpened()
    for index in range(frame_count):
        frame = background.copy()
        frame[6:18, 10:22] = frame_color(index)[::-1]  # OpenCV writes BGR
        writer.write(frame)
    writer.release()
    return str(path)


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
