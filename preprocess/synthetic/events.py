"""Events: one coloured shape doing one thing over `seconds` key states.

Motions come in time-reversal pairs, so that the reversed frames of an event are again an
event with a caption of its own: "moves left" / "moves right", "moves up" / "moves down",
"grows" / "shrinks". A motion's axis (horizontal, vertical, size) is shared by the pair:
an event and its reversal show the same object on the same axis, which is what the plan
keeps distinct between the videos of an evaluation split (`plan.py`).
"""
from dataclasses import dataclass, replace

import numpy as np

from preprocess.synthetic.shapes import COLOURS, ShapeState

REVERSED_MOTION = {"left": "right", "right": "left", "up": "down", "down": "up", "grows": "shrinks",
                   "shrinks": "grows"}
MOTIONS = tuple(REVERSED_MOTION)
MOTION_AXIS = {"left": "horizontal", "right": "horizontal", "up": "vertical", "down": "vertical",
               "grows": "size", "shrinks": "size"}
AXES = ("horizontal", "vertical", "size")
# Position of the centre on its moving axis (x grows to the right, y grows downwards).
TOWARDS_HIGH = {"right", "down"}
MOVING_RADIUS = (0.10, 0.15)  # a moving shape keeps one radius in this range
SIZE_RANGE = ((0.06, 0.08), (0.18, 0.22))  # a growing shape goes from the first range to the second


@dataclass(frozen=True)
class Event:
    """A shape of one colour doing `motion`; `states` holds one ShapeState per key state (second)."""
    shape: str
    colour: str
    motion: str
    states: tuple

    @property
    def description(self) -> tuple:
        """What a caption says about the event: (colour, shape, motion)."""
        return self.colour, self.shape, self.motion

    def reversed(self) -> "Event":
        """The same states backwards: the reversed motion."""
        return replace(self, motion=REVERSED_MOTION[self.motion], states=self.states[::-1])


def _interpolate(start: float, end: float, count: int) -> list:
    """`count` evenly spaced values from start to end, both included."""
    return [start + (end - start) * k / (count - 1) for k in range(count)]


def sample_event(rng: np.random.Generator, shape: str, colour: str, motion: str, seconds: int) -> Event:
    """The key states of `shape` in `colour` doing `motion` over `seconds` (>= 2) key states:
    a move crosses a random span of at least 0.3 of the frame along its axis at a random
    position on the other; growing goes from about 0.07 to 0.2 of the frame side in place."""
    if motion in ("grows", "shrinks"):
        small, large = (float(rng.uniform(*bounds)) for bounds in SIZE_RANGE)
        margin = large + 0.03
        x, y = (float(rng.uniform(margin, 1.0 - margin)) for _ in range(2))
        radii = _interpolate(small, large, seconds) if motion == "grows" else _interpolate(large, small, seconds)
        positions = [(x, y)] * seconds
    else:
        radius = float(rng.uniform(*MOVING_RADIUS))
        margin = radius + 0.04
        low, high = float(rng.uniform(margin, 0.35)), float(rng.uniform(0.65, 1.0 - margin))
        start, end = (low, high) if motion in TOWARDS_HIGH else (high, low)
        across = float(rng.uniform(margin, 1.0 - margin))
        moving = _interpolate(start, end, seconds)
        positions = [(value, across) if MOTION_AXIS[motion] == "horizontal" else (across, value) for value in moving]
        radii = [radius] * seconds
    states = tuple(ShapeState(x, y, radius, COLOURS[colour]) for (x, y), radius in zip(positions, radii))
    return Event(shape, colour, motion, states)
