"""Plan the dataset without rendering: families of twins per split, their events, each video's captions.

A split is a list of families, whose videos share one background and hold exactly the same
frames (`videos.py`): quads (a video, its time-reversed, event-swapped and events-reversed
twins), pairs, and at most one video without twin to reach an odd count. All videos of a
family have 2..3 events (drawn per family), each a different object (colour and shape).

Families differ by split, because training and measuring need different things:
- evaluation splits (validate, test) pair a video with its time-reversed twin, and one family
  in `1 / swap_share` is a quad: the order contrast of every caption (sequence and one-event)
  is measured against the time-reversed twin, swap and direction contrast on the quads;
- train is all quads (pairs of a video and its events-reversed twin only where fewer than four
  videos are left). Then every training caption has in its batch (`--twin_batches`) a video
  that only the event order tells apart (the swap) and one that only the directions of the
  motions tell apart (the events-reversed twin). With time-reversed pairs in train, the order
  of the objects alone told two sequence captions apart, and the demo's tiny CLIP learnt the
  object order but never the direction of a motion, for every head (docs/demo.md).
  A quad has sequence captions only (below), so training captions are sequence captions and
  one-event captions are a kind the model meets at evaluation: relevance without having been
  shown it. Training with one-event captions (in pairs) did not help them on validation.

Unique ground truth. A caption must describe its own video and no other video it is ranked
against, or R@1 is capped for reasons that have nothing to do with the heads:
- evaluation splits draw each family's events so that no (colour, shape, axis) is used by two
  families while unused ones remain (an event and its reversal share the axis, so a
  description "red circle grows" then occurs in one family only); a family whose sequence of
  events another video of the split already has is drawn again;
- a one-event caption is written only for an event whose description (colour, shape, motion)
  occurs in no other video of its scope: the split for evaluation splits, the family for
  train. That leaves the quads (a video and its swap hold the same events) with sequence
  captions only, and any event that still collides in an evaluation split without one-event
  captions. In train, another family may show the same event (about one event in ten shares
  a batch with its description): ordinary noise of contrastive training, as on real data.
- a sequence caption names every event in order: only its own video matches it.
Videos with one-event captions get `captions_per_video // 2` of them (cycling over their
unique events) and sequence captions for the rest; a test video's first caption is its
canonical sequence caption (MSR-VTT's 1k-A file takes the first).
"""
from dataclasses import dataclass
from itertools import product
from typing import Dict, Optional

import numpy as np

from preprocess.synthetic.captions import one_event_captions, sequence_captions
from preprocess.synthetic.events import AXES, MOTION_AXIS, MOTIONS, sample_event
from preprocess.synthetic.shapes import COLOURS, SHAPES, sample_background
from preprocess.synthetic.videos import VideoSpec

SPLITS = ("train", "validate", "test")
EVALUATION_SPLITS = ("validate", "test")
EVENT_KEYS = tuple(product(COLOURS, SHAPES, AXES))  # what evaluation splits keep apart between families
ROLES = {"video": lambda spec: spec, "reversed": VideoSpec.reversed, "swapped": VideoSpec.swapped,
         "events_reversed": VideoSpec.events_reversed}  # role in a family -> its spec from the video's
RELATIONS = ("reversed", "swapped", "events_reversed")
# relation -> the role of each role's twin: the three twins of a quad are each other's twins too
TWIN_ROLE = {"reversed": {"video": "reversed", "reversed": "video", "swapped": "events_reversed",
                          "events_reversed": "swapped"},
             "swapped": {"video": "swapped", "swapped": "video", "reversed": "events_reversed",
                         "events_reversed": "reversed"},
             "events_reversed": {"video": "events_reversed", "events_reversed": "video", "reversed": "swapped",
                                 "swapped": "reversed"}}
PAIR_ROLES = {"train": ("video", "events_reversed"), "validate": ("video", "reversed"),
              "test": ("video", "reversed")}
QUAD_SHARE = {"train": 1.0}  # train is all quads; evaluation splits have quads at the rate swap_share
MAX_REDRAWS = 1000


@dataclass(frozen=True)
class PlannedVideo:
    """One video: id, split, what it shows, its (caption, kind, described event position or None)
    triples and its twins' ids by relation (`RELATIONS`; absent relations are not listed)."""
    video_id: str
    split: str
    spec: VideoSpec
    captions: tuple
    twins: Dict[str, str]


def video_number(video_id: str) -> int:
    """The N of "videoN"."""
    return int(video_id[len("video"):])


def family_roles(split: str, count: int, swap_share: float) -> list:
    """The roles of each family of a split of `count` videos: quads at the split's rate (`QUAD_SHARE`,
    else `swap_share`), the split's pairs (`PAIR_ROLES`), one single video if the count is odd."""
    swap_share = QUAD_SHARE.get(split, swap_share)
    families, placed = [], 0
    while (remaining := count - placed) > 0:
        index = len(families)
        quad_turn = np.floor((index + 1) * swap_share) > np.floor(index * swap_share)
        families.append(tuple(ROLES) if quad_turn and remaining >= 4 else
                        PAIR_ROLES[split] if remaining >= 2 else ("video",))
        placed += len(families[-1])
    return families


def _draw_keys(rng, events: int, used: Optional[set]) -> list:
    """`events` (colour, shape, axis) keys of distinct objects, avoiding `used` (None: no constraint) while it can."""
    keys = []
    for _ in range(events):
        objects = {key[:2] for key in keys}
        allowed = [key for key in EVENT_KEYS if key[:2] not in objects]
        fresh = [key for key in allowed if used is None or key not in used]
        pool = fresh or allowed
        keys.append(pool[rng.integers(len(pool))])
    return keys


def _draw_family(rng, roles: tuple, events: int, seconds: int, used: Optional[set]) -> list:
    """The specs of one family's videos, one per role."""
    events_of_video = []
    for colour, shape, axis in _draw_keys(rng, events, used):
        motions = [motion for motion in MOTIONS if MOTION_AXIS[motion] == axis]
        events_of_video.append(sample_event(rng, shape, colour, motions[rng.integers(len(motions))], seconds))
    video = VideoSpec(sample_background(rng), tuple(events_of_video))
    return [ROLES[role](video) for role in roles]


def _descriptions(spec: VideoSpec) -> tuple:
    return tuple(event.description for event in spec.events)


def _plan_split_specs(rng, split: str, count: int, swap_share: float, event_counts: tuple, seconds: int) -> list:
    """[(family index, role, spec)] for one split."""
    evaluation = split in EVALUATION_SPLITS
    used, sequences, planned = set(), set(), []
    for family, roles in enumerate(family_roles(split, count, swap_share)):
        for _ in range(MAX_REDRAWS):
            events = int(rng.choice(event_counts))
            specs = _draw_family(rng, roles, events, seconds, used if evaluation else None)
            if not evaluation or sequences.isdisjoint(_descriptions(spec) for spec in specs):
                break
        else:
            raise ValueError(f"cannot draw {count} {split} videos with distinct event sequences")
        used.update((e.colour, e.shape, MOTION_AXIS[e.motion]) for e in specs[0].events)
        sequences.update(_descriptions(spec) for spec in specs)
        planned += [(family, role, spec) for role, spec in zip(roles, specs)]
    return planned


def _pick(rng, variants: tuple, count: int) -> list:
    """`count` of `variants` in random order, repeating only once all were used."""
    if count <= 0:
        return []
    order = np.concatenate([rng.permutation(len(variants)) for _ in range(-(-count // len(variants)))])
    return [variants[index] for index in order[:count]]


def _captions(rng, spec: VideoSpec, unique_events: list, count: int, canonical_first: bool) -> tuple:
    """(caption, kind, event) triples: one-event captions for `unique_events` (positions in the
    video; half the captions, if any), event = the position described; sequence captions for the
    rest, event = None."""
    one_event = count // 2 if unique_events else 0
    sequence_variants = sequence_captions(_descriptions(spec))
    head = [sequence_variants[0]] if canonical_first else []
    sequence = head + _pick(rng, sequence_variants[len(head):], count - one_event - len(head))
    order = rng.permutation(len(unique_events))
    described = [unique_events[order[k % len(order)]] for k in range(one_event)]
    one = [(_pick(rng, one_event_captions(spec.events[position].description), 1)[0], "one_event", position)
           for position in described]
    triples = [(caption, "sequence", None) for caption in sequence] + one
    rest = [triples[index] for index in len(head) + rng.permutation(len(triples) - len(head))]
    return tuple(triples[:len(head)] + rest)


def _plan_split(rng, split: str, count: int, first_number: int, captions_per_video: int, event_seconds: int,
                event_counts: tuple, swap_share: float) -> list:
    """The PlannedVideos of one split, ids videoN from `first_number` on, shuffled within the split."""
    members = _plan_split_specs(rng, split, count, swap_share, event_counts, event_seconds)
    ids = [f"video{first_number + int(slot)}" for slot in rng.permutation(count)]
    id_of = {(family, role): video_id for (family, role, _), video_id in zip(members, ids)}
    evaluation = split in EVALUATION_SPLITS
    videos_with = {}  # (scope: None = the split, else the family; event description) -> videos that show it
    for family, _, spec in members:
        for description in set(_descriptions(spec)):
            key = (None if evaluation else family, description)
            videos_with[key] = videos_with.get(key, 0) + 1
    planned = []
    for (family, role, spec), video_id in zip(members, ids):
        unique = [position for position, event in enumerate(spec.events)
                  if videos_with[None if evaluation else family, event.description] == 1]
        captions = _captions(rng, spec, unique, captions_per_video, canonical_first=split == "test")
        twins = {relation: id_of[family, TWIN_ROLE[relation][role]] for relation in RELATIONS
                 if (family, TWIN_ROLE[relation][role]) in id_of}
        planned.append(PlannedVideo(video_id, split, spec, captions, twins))
    return planned


def plan_dataset(train_videos: int, val_videos: int, test_videos: int, captions_per_video: int, event_seconds: int,
                 event_counts: tuple, swap_share: float, seed: int) -> list:
    """Decide every video (id, split, spec, captions, twins) without rendering; ordered by video number.

    Ids run train, then validate, then test, as in MSR-VTT, shuffled within a split so twins are rarely neighbours.
    """
    rng = np.random.default_rng(seed)
    planned, first_number = [], 0
    for split, count in zip(SPLITS, (train_videos, val_videos, test_videos)):
        planned += _plan_split(rng, split, count, first_number, captions_per_video, event_seconds, event_counts,
                               swap_share)
        first_number += count
    return sorted(planned, key=lambda video: video_number(video.video_id))
