"""Which videos of a split each caption describes: the positives of its row of the training target.

A caption's own video always matches it. Two more sources say that a caption fits other videos:
- exact duplicates (every dataset): a caption whose text (stripped) is also a caption of other
  videos describes those too, by the annotators' own words. Real datasets have them (MSR-VTT's
  short generic captions recur across videos), and a batch that holds two such items with the
  one-hot target asks each copy of the same text to prefer its own video over the other:
  contradictory targets whose gradient pushes the two videos apart for no reason;
- `caption_matches.csv` (the synthetic dataset, in the annotation folder): header
  `video_id,caption,matching_video_id`, one row per other video of the split that the caption
  of `video_id` describes (a one-event caption fits every video that shows its event, e.g. the
  video's event-swapped twin). Real datasets have no such file.
Rows naming a video outside the split (another split, or skipped for missing frames) are left
out, as the twin files' are. The item of the same video twice in one batch (--train_captions
all) needs no list: a caption's own video matches it, whichever item carries it.
"""
import os
from typing import List

import numpy as np

from dataloaders.annotation_files import annotation_error, read_csv_columns
from dataloaders.retrieval_split import RetrievalSplit

CAPTION_MATCHES_FILE = "caption_matches.csv"
NO_VIDEO = -1  # padding of `padded_matches`


def read_caption_matches(split: RetrievalSplit, data_path: str) -> List[np.ndarray]:
    """For every caption of `split`, the sorted indices of the videos it describes: its own, those
    with the same caption text, and those `data_path/caption_matches.csv` lists (if present)."""
    by_text = {}
    for caption, video in zip(split.captions, split.caption_video_index):
        by_text.setdefault(caption.strip(), set()).add(int(video))
    extra = {}
    path = os.path.join(data_path, CAPTION_MATCHES_FILE)
    if os.path.isfile(path):
        position = {video_id: index for index, video_id in enumerate(split.video_ids)}
        own = {(int(video), caption.strip()) for caption, video in zip(split.captions, split.caption_video_index)}
        columns = ["video_id", "caption", "matching_video_id"]
        for line, (video_id, caption, other) in read_csv_columns(split.dataset, path, columns):
            if video_id not in position or other not in position:
                continue
            if (position[video_id], caption) not in own:
                raise annotation_error(split.dataset, path, f"line {line}",
                                       f"{video_id} has no caption {caption!r} in the {split.name} split")
            extra.setdefault((position[video_id], caption), set()).add(position[other])
    return [np.array(sorted(by_text[caption.strip()] | extra.get((int(video), caption.strip()), set())),
                     dtype=np.int64)
            for caption, video in zip(split.captions, split.caption_video_index)]


def padded_matches(matches: List[np.ndarray]) -> np.ndarray:
    """The lists of `read_caption_matches` as one int64 array [num_captions, K] (K: the longest
    list), padded with NO_VIDEO, so that a batch of them stacks and gathers like any tensor."""
    width = max((len(videos) for videos in matches), default=1)
    table = np.full((len(matches), width), NO_VIDEO, dtype=np.int64)
    for row, videos in zip(table, matches):
        row[:len(videos)] = videos
    return table
