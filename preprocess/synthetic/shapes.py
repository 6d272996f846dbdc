"""Drawing: coloured shapes on a grey background, anti-aliased with sub-pixel precision.

A shape's state at one key instant is a `ShapeState` (centre and radius as fractions of the
frame side, RGB); rendering is a pure function of the states and the background, so
the same states in another order give the same frames in that order (the twins rely on it).
"""
from dataclasses import dataclass

import cv2
import numpy as np

DRAW_SHIFT = 4  # OpenCV draws at 1/16 pixel, so slow motion is smooth at small sizes

SHAPES = ("circle", "square", "triangle", "diamond", "cross")
COLOURS = {
    "red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 80, 230), "yellow": (235, 215, 40),
    "purple": (150, 60, 200), "orange": (245, 140, 30), "cyan": (40, 210, 220), "pink": (240, 110, 180),
}
# Polygon vertices for a shape of radius 1 centred on the origin (y points down).
UNIT_POLYGONS = {
    "square": ((-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)),
    "triangle": ((0.0, -1.1), (0.95, 0.55), (-0.95, 0.55)),
    "diamond": ((0.0, -1.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0)),
    "cross": ((-0.35, -1.0), (0.35, -1.0), (0.35, -0.35), (1.0, -0.35), (1.0, 0.35), (0.35, 0.35),
              (0.35, 1.0), (-0.35, 1.0), (-0.35, 0.35), (-1.0, 0.35), (-1.0, -0.35), (-0.35, -0.35)),
}


@dataclass(frozen=True)
class ShapeState:
    """A shape at one key instant: centre and radius as fractions of the frame side, RGB."""
    x: float
    y: float
    radius: float
    rgb: tuple


@dataclass(frozen=True)
class Background:
    """A static grey background: level 0-255 plus an optional smooth texture (amplitude 0 = plain)."""
    level: int
    texture: float
    texture_seed: int

    def render(self, size: int) -> np.ndarray:
        """float32 [size, size, 3]."""
        plane = np.full((size, size), float(self.level), np.float32)
        if self.texture:
            coarse = np.random.default_rng(self.texture_seed).standard_normal((8, 8)).astype(np.float32)
            plane += self.texture * cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
        return np.repeat(plane[:, :, None], 3, axis=2)


def sample_background(rng: np.random.Generator) -> Background:
    """Dark or light, plain or lightly textured, with equal odds."""
    dark = rng.random() < 0.5
    level = int(rng.integers(25, 90) if dark else rng.integers(150, 215))
    texture = float(rng.uniform(4.0, 12.0)) if rng.random() < 0.5 else 0.0
    return Background(level, texture, int(rng.integers(2 ** 31)))


def shape_coverage(shape: str, state: ShapeState, size: int) -> np.ndarray:
    """Anti-aliased coverage of the shape in [0, 1], float32 [size, size]."""
    canvas = np.zeros((size, size), np.uint8)
    centre, radius = np.array([state.x, state.y]) * size, state.radius * size
    subpixel = 2 ** DRAW_SHIFT
    if shape == "circle":
        cv2.circle(canvas, tuple(int(v) for v in np.rint(centre * subpixel)), int(round(radius * subpixel)), 255,
                   cv2.FILLED, cv2.LINE_AA, DRAW_SHIFT)
    else:
        points = np.rint((np.array(UNIT_POLYGONS[shape]) * radius + centre) * subpixel).astype(np.int32)
        cv2.fillPoly(canvas, [points], 255, cv2.LINE_AA, DRAW_SHIFT)
    return canvas.astype(np.float32) / 255.0


def draw(shape: str, state: ShapeState, background: np.ndarray) -> np.ndarray:
    """One RGB frame, uint8 [size, size, 3]: the shape blended over `background` (float32 [size, size, 3])."""
    alpha = shape_coverage(shape, state, background.shape[0])[:, :, None]
    blended = background + alpha * (np.asarray(state.rgb, np.float32) - background)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)
