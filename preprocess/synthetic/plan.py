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
  Train also has one-event (partial) captions, `partial_share` of each video's (half by default;
  0 gives the sequence-only train split of generator version 4), because real
  captions often describe part of a video and text-conditioned attention is for them. In a quad
  such a caption fits two videos (the video and its event swap hold the same events forwards;
  the reversed and events-reversed twins hold them backwards), so it is not a unique ground
  truth: `caption_matches` lists every video of the split that a caption describes, and
  training takes all of them as positives (`modules/contrastive_loss.py`). They are drawn from
  a stream of their own (`PARTIAL_STREAM`), so the videos, the sequence captions and the
  evaluation splits are those of the plan without them.

Unique ground truth. A caption must describe its own video and no other video it is ranked
against, or R@1 is capped for reasons that have nothing to do with the heads:
- evaluation splits draw each family's events so that no (colour, shape, axis) is used by two
  families while unused ones remain (an event and its reversal share the axis, so a
  description "red circle grows" then occurs in one family only); a family whose sequence of
  events another video of the split already has is drawn again;
- in the evaluation splits a one-event caption is written only for an event whose description
  (colour, shape, motion) occurs in no other video of the split. That leaves their quads (a
  video and its swap hold the same events) with sequence captions only, and any event that
  still collides without one-event captions. Train needs no unique ground truth: its matches
  are listed (`caption_matches`), its swaps and other families' videos that show the same event
  included.
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
PARTIAL_STREAM = 1  # train's one-event captions: rng [seed, PARTIAL_STREAM], apart from the plan's own stream


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


def _with_partial_captions(rng, spec: VideoSpec, captions: tuple, share: float) -> tuple:
    """Train: the last round(share * len(captions)) captions replaced by one-event captions, cycling
    over the video's events in a random order (each triple: caption, "one_event", event position)."""
    count = int(round(share * len(captions)))
    order = rng.permutation(len(spec.events))
    described = [int(order[k % len(order)]) for k in range(count)]
    one = [(_pick(rng, one_event_captions(spec.events[position].description), 1)[0], "one_event", position)
           for position in described]
    return captions[:len(captions) - count] + tuple(one)


def _plan_split(rng, partial_rng, split: str, count: int, first_number: int, captions_per_video: int,
                event_seconds: int, event_counts: tuple, swap_share: float, partial_share: float) -> list:
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
        if not evaluation:
            captions = _with_partial_captions(partial_rng, spec, captions, partial_share)
        twins = {relation: id_of[family, TWIN_ROLE[relation][role]] for relation in RELATIONS
                 if (family, TWIN_ROLE[relation][role]) in id_of}
        planned.append(PlannedVideo(video_id, split, spec, captions, twins))
    return planned


def plan_dataset(train_videos: int, val_videos: int, test_videos: int, captions_per_video: int, event_seconds: int,
                 event_counts: tuple, swap_share: float, seed: int, partial_share: float = 0.5) -> list:
    """Decide every video (id, split, spec, captions, twins) without rendering; ordered by video number.

    Ids run train, then validate, then test, as in MSR-VTT, shuffled within a split so twins are rarely neighbours.
    """
    rng, partial_rng = np.random.default_rng(seed), np.random.default_rng([seed, PARTIAL_STREAM])
    planned, first_number = [], 0
    for split, count in zip(SPLITS, (train_videos, val_videos, test_videos)):
        planned += _plan_split(rng, partial_rng, split, count, first_number, captions_per_video, event_seconds,
                               event_counts, swap_share, partial_share)
        first_number += count
    return sorted(planned, key=lambda video: video_number(video.video_id))


def described_videos(plan: list) -> Dict[tuple, list]:
    """(video_id, caption) -> the ids of every video of its split that the caption describes, its
    own first: a sequence caption describes the videos with its events in its order, a one-event
    caption those that show its event (colour, shape, motion) anywhere."""
    showing: Dict[tuple, list] = {}  # (split, events in order) or (split, one event) -> video ids
    for video in plan:
        events = _descriptions(video.spec)
        for key in [events] + sorted(set((event,) for event in events)):
            showing.setdefault((video.split, key), []).append(video.video_id)
    matches = {}
    for video in plan:
        events = _descriptions(video.spec)
        for caption, kind, position in video.captions:
            key = events if kind == "sequence" else (events[position],)
            others = [video_id for video_id in showing[video.split, key] if video_id != video.video_id]
            matches[video.video_id, caption] = [video.video_id] + others
    return matches
