"""A demo run folder as the report reads it: the trained model, the test split and its videos,
and where each test caption's described event lies among its video's frames."""
import json
import os
from typing import NamedTuple

import numpy as np
import torch

from dataloaders.caption_kinds import read_described_events
from dataloaders.frame_layout import read_manifest
from dataloaders.registry import load_retrieval_splits
from dataloaders.retrieval_datasets import EvalVideoDataset
from dataloaders.video_source import open_video_source
from driver.flags import get_args
from driver.model_setup import build_model
from driver.checkpoints import completed_config, load_model_weights


def load_run_model(run: str):
    """(args, model in eval mode) of a run: every flag from its config.json, weights from checkpoint_best.pt."""
    with open(os.path.join(run, "config.json")) as handle:
        config = completed_config(json.load(handle))  # a run from before a flag: the model it trained
    args = get_args(["--do_eval", "--data_path", config["data_path"], "--features_path", config["features_path"],
                     "--output_dir", run])
    for flag, value in config.items():  # every flag of the run (split, sampling, model), not a hand-picked few
        if hasattr(args, flag):
            setattr(args, flag, value)
    model = build_model(args, torch.device("cpu"))
    load_model_weights(model, os.path.join(run, "checkpoint_best.pt"))
    return args, model.eval()


class TestVideos(NamedTuple):
    split: object              # RetrievalSplit: the run's test split (videos that have frames)
    dataset: EvalVideoDataset  # its videos as the evaluation samples them
    event_frames: np.ndarray   # [num_captions, 2] frame range [start, stop) of the described event, -1 if none


def event_seconds(data_path: str) -> int:
    """Key states per event of the synthetic dataset whose annotation folder is `data_path`."""
    with open(os.path.join(os.path.dirname(os.path.abspath(data_path)), "synthetic_dataset.json")) as handle:
        return json.load(handle)["parameters"]["event_seconds"]


def test_videos(args, model) -> TestVideos:
    """The run's test split, its evaluation videos, and for one-event captions the frames of their
    event: pre-extracted frames at `fps` give `fps` frames per key state (second), and the loader
    takes all of them when there are at most --max_frames; other captions get no range."""
    source = open_video_source(args.features_path)
    split = source.restrict(load_retrieval_splits(args.datatype, args.data_path, msrvtt_split=args.msrvtt_split)["test"])
    dataset = EvalVideoDataset(split, source, max_frames=args.max_frames, image_size=model.backbone.image_size,
                               slice_framepos=args.slice_framepos, frame_order=args.eval_frame_order)
    events = read_described_events(split, args.data_path)
    manifest = read_manifest(args.features_path)
    records = [manifest[split.video_ids[video]] for video in split.caption_video_index]
    frames = np.array([record.frames for record in records])
    per_event = np.array([record.fps for record in records]) * event_seconds(args.data_path)  # frames per event
    whole = (frames <= args.max_frames) & (per_event == np.round(per_event)) & (frames % per_event == 0) & (events >= 0)
    ranges = np.where(whole[:, None], np.stack([events * per_event, (events + 1) * per_event], 1), -1)
    return TestVideos(split, dataset, ranges.astype(np.int64))
