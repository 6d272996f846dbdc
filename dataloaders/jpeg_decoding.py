"""Decode one JPEG frame, refusing truncated and corrupt files instead of returning garbage.

A truncated file lacks its end-of-image marker. A file damaged inside its entropy-coded data
(bit flips, a bad copy) keeps its markers and still decodes, to a smeared or blocky image,
with only a warning that libjpeg prints to stderr ("Corrupt JPEG data: ... extraneous bytes
before marker 0xd9", "... premature end of data segment", "... bad Huffman code"). That
warning is caught (`native_stderr.py`) and makes the frame unreadable, with the decoder's
words as the reason.

OpenCV's libjpeg-turbo decoder is the fastest one installed (bench/data_loading.py measures
it against torchvision.io.decode_jpeg and PIL); neither of those reports corrupt data either.
"""
import cv2
import numpy as np

from dataloaders.native_stderr import captured_stderr

START_OF_IMAGE, END_OF_IMAGE = b"\xff\xd8", b"\xff\xd9"


class UnreadableImage(Exception):
    """The bytes are not a complete, intact JPEG; the message says why."""


def decode_jpeg_rgb(data: bytes) -> np.ndarray:
    """JPEG bytes -> [H, W, 3] uint8 RGB; UnreadableImage for a truncated or corrupt file."""
    if data[:2] != START_OF_IMAGE:
        raise UnreadableImage("not a JPEG (no start-of-image marker)")
    if data[-2:] != END_OF_IMAGE:
        raise UnreadableImage("truncated (no end-of-image marker)")
    with captured_stderr() as decoder_messages:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)
    if decoder_messages:
        raise UnreadableImage(f"corrupt data, the decoder says: {'; '.join(decoder_messages)}")
    if image is None:
        raise UnreadableImage("the decoder cannot read it")
    return image
