"""Test videos written with OpenCV whose frames say their own number (a coloured patch that
survives lossy coding and resizing), and ways to damage files as users meet them."""
import os

import cv2
import numpy as np

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


def damage_entropy_coded_data(data: bytes) -> bytes:
    """Flip bits in the scan data after the start-of-scan header; markers stay intact."""
    damaged = bytearray(data)
    start_of_scan = data.index(b"\xff\xda")
    scan = start_of_scan + 2 + int.from_bytes(data[start_of_scan + 2:start_of_scan + 4], "big")
    for position in range(scan + 8, len(data) - 8, 13):
        if damaged[position] != 0xFF and damaged[position - 1] != 0xFF:  # leave stuffed bytes alone
            damaged[position] ^= 0x5A
            damaged[position] = damaged[position] if damaged[position] != 0xFF else 0x11
    return bytes(damaged)


def truncate(path, keep):
    with open(path, "rb") as handle:
        data = handle.read()
    with open(path, "wb") as handle:
        handle.write(data[:int(len(data) * keep)])


FRAMES_PER_SECOND = 2.0  # 80 frames at 8 fps -> 20 timeline frames at native indices 2, 6, ..., 78


def make_videos(folder):
    """a: 80 frames (10 s), b: 20 frames in a movie sub-folder, c: 3 frames, empty: 0 bytes."""
    os.makedirs(os.path.join(folder, "movie"))
    write_test_video(os.path.join(folder, "a.mp4"), 80)
    write_test_video(os.path.join(folder, "movie", "b.avi"), 20, fourcc="MJPG")
    write_test_video(os.path.join(folder, "c.mp4"), 3)
    open(os.path.join(folder, "empty.mp4"), "wb").close()
    return folder


def clip_numbers(video, mask):
    """Frame numbers of the real frames of a clip [T, 3, H, W] uint8 with mask [T]."""
    return [frame_number(frame.permute(1, 2, 0).numpy()) for frame in video[mask]]
