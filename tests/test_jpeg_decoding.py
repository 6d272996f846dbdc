"""A JPEG damaged inside its entropy-coded data (markers intact) decodes to garbage with only
a libjpeg warning on stderr: it must count as an unreadable frame, named with id and path."""
import logging
import os

import cv2
import numpy as np
import pytest

from dataloaders.clip_reading import ClipSpec, read_clip
from dataloaders.jpeg_decoding import UnreadableImage, decode_jpeg_rgb
from dataloaders.native_stderr import captured_stderr
from dataloaders.video_source import open_video_source
from preprocess.extract_frames import extract_frames
from tests.support.videos import damage_entropy_coded_data, frame_number, write_test_video


def photo_like_jpeg() -> bytes:
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), (5, 5), 0)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def test_a_jpeg_damaged_inside_its_data_is_refused_with_the_decoders_words(capfd):
    data = photo_like_jpeg()
    assert decode_jpeg_rgb(data).shape == (48, 64, 3)
    damaged = damage_entropy_coded_data(data)
    assert damaged[:2] == b"\xff\xd8" and damaged[-2:] == b"\xff\xd9"
    assert cv2.imdecode(np.frombuffer(damaged, np.uint8), cv2.IMREAD_COLOR) is not None  # OpenCV alone: garbage
    capfd.readouterr()
    with pytest.raises(UnreadableImage, match="corrupt data, the decoder says: Corrupt JPEG data"):
        decode_jpeg_rgb(damaged)
    assert capfd.readouterr().err == ""  # the warning became our message, not an anonymous line
    with pytest.raises(UnreadableImage, match=r"truncated \(no end-of-image marker\)"):
        decode_jpeg_rgb(data[:len(data) // 2])


def test_captured_stderr_returns_what_was_written_and_restores_the_descriptor(capfd):
    with captured_stderr() as lines:
        os.write(2, b"first\nsecond\n")
    assert lines == ["first", "second"]
    with captured_stderr() as lines:
        pass
    assert lines == []
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_a_damaged_frame_is_dropped_with_a_warning_naming_id_and_path(tmp_path, caplog):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_test_video(videos / "b.avi", 20, fourcc="MJPG")  # 2.5 s at 8 fps: 5 frames at 2 fps
    extract_frames(str(videos), str(tmp_path / "frames"), fps=2.0, short_side=24)
    bad = os.path.join(tmp_path, "frames", "frames", "b", "000002.jpg")
    with open(bad, "rb") as handle:
        data = handle.read()
    with open(bad, "wb") as handle:
        handle.write(damage_entropy_coded_data(data))
    spec = ClipSpec(max_frames=8, image_size=16, slice_framepos="uniform", frame_order="normal", random_offset=False)
    with caplog.at_level(logging.WARNING):
        video, mask = read_clip(open_video_source(str(tmp_path / "frames")), "lsmdc", "b", spec,
                                np.random.default_rng(0))
    assert f"lsmdc b: frame {bad} is unreadable (corrupt data, the decoder says: Corrupt JPEG data" in caplog.text
    assert mask.tolist() == [True] * 4 + [False] * 4
    assert [frame_number(frame.permute(1, 2, 0).numpy()) for frame in video[mask]] == [2, 6, 14, 18]
