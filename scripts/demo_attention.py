"""Where a head's text-to-frame attention goes for one-event captions of the demo's test split.

A one-event caption describes one event of its video, a known range of frames
(`scripts/demo_runs.py`). For each attention level of the head (frame level: the sentence;
token level: every word), the share of the caption's attention over its own video's frames
that falls on that range, averaged over captions (token level: over the caption's words,
EOT excluded), against the share uniform attention gives (the event's frames / the video's).
"""
from typing import Dict, NamedTuple

import numpy as np
import torch

from modules.frame_attention_pooling import FrameAttentionPooling
from modules.tokenizer import CaptionTokenizer
from scripts.demo_runs import TestVideos, load_run_model, test_videos

LEVELS = {"frame": "sentence", "token": "words"}  # head level -> what attends


class OwnAttention(NamedTuple):
    levels: Dict[str, torch.Tensor]  # head level -> [N, L, T] attention of each text row over its own video's frames
    tokens: torch.Tensor             # [N, L] caption tokens
    words: torch.Tensor              # [N, L] bool: word tokens (not SOT, EOT or padding)
    video_mask: torch.Tensor         # [N, T] bool: real frames of each caption's video


def attention_levels(model) -> list:
    """The head's attention levels ("frame", "token") that exist; none for meanP and seqTransf."""
    return [level for level in LEVELS if getattr(model.head, f"{level}_level", None) is not None]


@torch.no_grad()
def own_video_attention(args, model, videos: TestVideos, rows: np.ndarray, batch: int = 200) -> OwnAttention:
    """Attention of the captions `rows` of the test split over their own videos' frames."""
    head, dataset = model.head, videos.dataset
    own = videos.split.caption_video_index[rows]
    needed = np.unique(own)
    items = [dataset[int(v)] for v in needed]
    video = torch.stack([item["video"] for item in items])
    mask = torch.stack([item["video_mask"] for item in items])
    frames = torch.cat([model.encode_video(video[k:k + batch], mask[k:k + batch]) for k in range(0, len(items), batch)])
    video_side = head.pool_video(frames, mask)
    tokenizer = CaptionTokenizer(args.max_words)
    tokens = tokenizer([videos.split.captions[r] for r in rows]).tokens
    text = model.encode_text(tokens)
    text_side = head.text_side(text.sentence, text.words, text.word_mask)
    position = torch.as_tensor(np.searchsorted(needed, own))  # caption -> its video among `needed`
    levels = {}
    for level in attention_levels(model):
        attention = FrameAttentionPooling.attention(getattr(text_side, level), getattr(video_side, level), mask)
        levels[level] = attention[torch.arange(len(rows)), :, position]  # [N, L, T]
    words = text.word_mask & (tokens != tokenizer.eot_token_id)
    return OwnAttention(levels, tokens, words, mask[position])


def attention_on_described_event(run: str) -> dict:
    """{"sentence" | "words": {"mass", "uniform", "captions"}} for the run's head; {} without attention."""
    args, model = load_run_model(run)
    if not attention_levels(model):
        return {}
    videos = test_videos(args, model)
    rows = np.nonzero(videos.event_frames[:, 0] >= 0)[0]
    if len(rows) == 0:
        return {}
    own = own_video_attention(args, model, videos, rows)
    frame_index = torch.arange(own.video_mask.shape[1])
    ranges = torch.as_tensor(videos.event_frames[rows])
    in_event = (frame_index >= ranges[:, :1]) & (frame_index < ranges[:, 1:])  # [N, T]
    uniform = float((in_event.sum(1) / own.video_mask.sum(1)).mean())
    result = {}
    for level, attention in own.levels.items():
        mass = (attention * in_event[:, None]).sum(-1)  # [N, L]
        per_caption = mass[:, 0] if level == "frame" else (mass * own.words).sum(1) / own.words.sum(1)
        result[LEVELS[level]] = {"mass": float(per_caption.mean()), "uniform": uniform, "captions": len(rows)}
    return result
