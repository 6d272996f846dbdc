"""Captions of two kinds, both naming each event by colour, shape and motion:

- "sequence": every event of the video in order ("a red circle grows, then a blue square
  moves left"); it tells a video from its time-reversed twin (other motions) and from its
  event-swapped twin (other order);
- "one_event": one event only ("at some point a blue square moves left"); it tells a video
  from its time-reversed twin (the reversed event moves right) but not from its
  event-swapped twin, which holds the same events.

Each kind has synonymous phrasings; the first variant is the canonical one.
"""
from itertools import product

MOTION_PHRASES = {
    "left": ("moves left", "slides to the left", "travels left"),
    "right": ("moves right", "slides to the right", "travels right"),
    "up": ("moves up", "rises", "travels upwards"),
    "down": ("moves down", "falls", "travels downwards"),
    "grows": ("grows", "gets bigger", "expands"),
    "shrinks": ("shrinks", "gets smaller", "contracts"),
}
ONE_EVENT_TEMPLATES = ("{clause}", "at some point {clause}", "in one part of the video {clause}")


def _clauses(description: tuple) -> tuple:
    """"a red circle grows" and its synonyms for an event description (colour, shape, motion)."""
    colour, shape, motion = description
    article = "an" if colour[0] in "aeiou" else "a"
    return tuple(f"{article} {colour} {shape} {phrase}" for phrase in MOTION_PHRASES[motion])


def _sequence(clauses: tuple, template: int) -> str:
    """Clauses joined in order: "A, then B[, then C]", "first A, then B[, and finally C]", "A[, then B] and then C"."""
    middle = ", then ".join(clauses[:-1])
    if template == 0:
        return f"{middle}, then {clauses[-1]}"
    if template == 1:
        return f"first {middle}{', and finally ' if len(clauses) > 2 else ', then '}{clauses[-1]}"
    return f"{middle} and then {clauses[-1]}"


def one_event_captions(description: tuple) -> tuple:
    """Every one-event caption of an event (colour, shape, motion), canonical first."""
    return tuple(template.format(clause=clause)
                 for template in ONE_EVENT_TEMPLATES for clause in _clauses(description))


def sequence_captions(descriptions: tuple) -> tuple:
    """Every sequence caption of events with these descriptions in this order, canonical first."""
    return tuple(_sequence(clauses, template)
                 for template in range(3) for clauses in product(*(_clauses(d) for d in descriptions)))
