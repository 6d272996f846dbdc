"""A video: two or three events one after the other on one background, and its twins.

Only the current event's shape is visible, so the frames of a video are its events' frames
in order. Twins hold exactly the same frames, in another order:
- the time-reversed twin (`reversed`): every frame backwards, i.e. the events in reverse
  order, each reversed ("a red circle grows, then a blue square moves left" becomes "a blue
  square moves right, then a red circle shrinks");
- the event-swapped twin (`swapped`): the events in reverse order, each played forwards
  ("a blue square moves left, then a red circle grows"); for three events the first and the
  last swap places;
- the events-reversed twin (`events_reversed`, the reversal of the swap): every event runs
  backwards in place, the event order stays ("a red circle shrinks, then a blue square moves
  right"): only the direction of each motion tells it from the video.
A video and these three twins are a family of four videos with the same frames; one-event
captions cannot tell a video from its swap (`plan.py` handles that).
"""
from dataclasses import dataclass, replace

import numpy as np

from preprocess.synthetic.shapes import Background, draw


@dataclass(frozen=True)
class VideoSpec:
    """Everything needed to render one video: its background and its events in order."""
    background: Background
    events: tuple  # of events.Event, in order

    def reversed(self) -> "VideoSpec":
        return replace(self, events=tuple(event.reversed() for event in self.events[::-1]))

    def swapped(self) -> "VideoSpec":
        return replace(self, events=self.events[::-1])

    def events_reversed(self) -> "VideoSpec":
        return replace(self, events=tuple(event.reversed() for event in self.events))

    @property
    def key_states(self) -> int:
        return sum(len(event.states) for event in self.events)

    def render_key_frames(self, size: int) -> np.ndarray:
        """One RGB frame per key state, uint8 [key_states, size, size, 3]."""
        background = self.background.render(size)
        return np.stack([draw(event.shape, state, background) for event in self.events for state in event.states])

    def render(self, size: int, fps: int) -> np.ndarray:
        """All RGB frames of the video, uint8 [key_states * fps, size, size, 3]: each key frame held one second."""
        return np.repeat(self.render_key_frames(size), fps, axis=0)

