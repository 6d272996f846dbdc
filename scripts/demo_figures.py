"""The demo's figures, from the run folders:

  demo_curves.png        training loss per step; R@1 (all captions, one-event captions) and order
                         contrast per epoch on the split the driver selects the model on (val)
  demo_attention.png     DLLFA's frame-level (sentence) and token-level (word) attention over the
                         frames of one test video, for its sequence caption and one caption per event
  dllfa_architecture.png the DLLFA model as built from the run's config, labelled from the modules
"""
import json
import os
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from modules.tokenizer import CaptionTokenizer  # noqa: E402
from scripts.demo_attention import own_video_attention  # noqa: E402
from scripts.demo_runs import load_run_model, test_videos  # noqa: E402


def read_jsonl(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle]


def plot_curves(runs: str, heads, path: str) -> None:
    figure, axes = plt.subplots(1, 4, figsize=(16, 3.4))
    for head in heads:
        steps = read_jsonl(os.path.join(runs, head, "train_steps.jsonl"))
        epochs = read_jsonl(os.path.join(runs, head, "metrics_history.jsonl"))
        numbers = [e["epoch"] for e in epochs]
        axes[0].plot([s["step"] for s in steps], [s["loss"] for s in steps], label=head, linewidth=0.8)
        axes[1].plot(numbers, [e["t2v"]["R1"] for e in epochs], label=head)
        axes[2].plot(numbers, [e["by_caption_kind"]["one_event"]["R1"] for e in epochs], label=head)
        axes[3].plot(numbers, [e["order_contrast"] for e in epochs], label=head)
    split = epochs[0]["split"]  # the model-selection split the driver evaluates every epoch
    titles = ("training loss", f"{split} text-to-video R@1", f"{split} R@1, one-event captions",
              f"{split} order contrast")
    for axis, title, xlabel in zip(axes, titles, ("step", "epoch", "epoch", "epoch")):
        axis.set_title(title)
        axis.set_xlabel(xlabel)
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3)
    axes[3].axhline(0.5, color="grey", linestyle=":", linewidth=1)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _showcase_captions(videos) -> list:
    """Caption rows of one test video: its first sequence caption and one caption per described event;
    the first video with the most events described."""
    split, ranges = videos.split, videos.event_frames
    best = []
    for video, rows in enumerate(split.caption_indices_per_video()):
        by_event = {int(ranges[r, 0]): int(r) for r in rows[::-1] if ranges[r, 0] >= 0}
        sequence = [int(r) for r in rows if ranges[r, 0] < 0][:1]
        if sequence and len(by_event) > len(best) - 1:
            best = sequence + [by_event[start] for start in sorted(by_event)]
    return best


def plot_attention(run: str, path: str) -> None:
    """One test video (frames on top), a column per caption: the sentence's attention over the frames
    (bars) and every word's (heat map); the described event's frames marked for one-event captions."""
    args, model = load_run_model(run)
    videos = test_videos(args, model)
    rows = np.array(_showcase_captions(videos))
    own = own_video_attention(args, model, videos, rows)
    item = videos.dataset[int(videos.split.caption_video_index[rows[0]])]
    real = int(item["video_mask"].sum())
    frames = item["video"][:real].permute(0, 2, 3, 1).numpy()  # [T, H, W, 3]
    tokenizer = CaptionTokenizer(args.max_words)
    figure = plt.figure(figsize=(3.6 * len(rows), 8))
    grid = figure.add_gridspec(3, len(rows), height_ratios=[0.8, 1, 2.4])
    strip = figure.add_subplot(grid[0, :])
    strip.imshow(np.concatenate(list(frames), axis=1))
    strip.set_title("the test video's frames", fontsize=8)
    strip.axis("off")
    for column, row in enumerate(rows):
        start, stop = videos.event_frames[row]
        bars, heat = figure.add_subplot(grid[1, column]), figure.add_subplot(grid[2, column])
        bars.bar(range(real), own.levels["frame"][column, 0, :real].numpy(), color="tab:blue")
        bars.set_ylim(0, 1)
        bars.set_title(textwrap.fill(videos.split.captions[row], 40) + "\nsentence -> frames", fontsize=7)
        words = own.words[column]
        labels = [tokenizer.decode_token(int(t)) for t in own.tokens[column][words]]
        heat.imshow(own.levels["token"][column][words][:, :real].numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=1)
        heat.set_yticks(range(len(labels)), labels, fontsize=6)
        heat.set_xlabel("frame")
        heat.set_title("words -> frames", fontsize=7)
        if start >= 0:
            bars.axvspan(start - 0.5, stop - 0.5, color="orange", alpha=0.25, linewidth=0)
            for edge in (start - 0.5, stop - 0.5):
                heat.axvline(edge, color="orange", linewidth=2)
    figure.suptitle("DLLFA attention for one test video and its captions (marked: the event a one-event caption "
                    "describes)", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _box(axis, xy, text, colour):
    x, y = xy
    axis.add_patch(FancyBboxPatch((x - 1.1, y - 0.38), 2.2, 0.76, boxstyle="round,pad=0.05",
                                  facecolor=colour, edgecolor="black", linewidth=0.8))
    axis.text(x, y, text, ha="center", va="center", fontsize=7.5)


def _arrow(axis, start, end, label=""):
    axis.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, linewidth=0.8))
    if label:
        axis.text((start[0] + end[0]) / 2 + 0.08, (start[1] + end[1]) / 2, label, fontsize=6.5, color="dimgray")


def plot_architecture(run: str, path: str) -> None:
    """Boxes labelled from the built model, so the figure follows the code."""
    args, model = load_run_model(run)
    backbone, head = model.backbone, model.head
    vision, text_cfg, dim = backbone.config["vision_cfg"], backbone.config["text_cfg"], backbone.embed_dim
    temporal = head.temporal
    levels = [name for name in ("frame_level", "token_level") if getattr(head, name) is not None]
    attention_dim = getattr(head, levels[0]).attention_dim
    fusion = "per caption" if head.fusion == "caption" else head.fusion
    T, L = args.max_frames, args.max_words
    figure, axis = plt.subplots(figsize=(11, 5.2))
    boxes = {
        "frames": ((0, 4), f"frames\n[B, {T}, 3, {vision['image_size']}, {vision['image_size']}] uint8"),
        "vit": ((2.6, 4), f"CLIP ViT ({type(backbone.clip.visual).__name__})\n{vision['layers']} layers, "
                          f"width {vision['width']}, patch {vision['patch_size']}\n-> F [B, {T}, {dim}]"),
        "temporal": ((5.2, 4), f"{type(temporal).__name__}\n"
                               f"Fo = F + TE({'F - mean F' if temporal.centre else 'F'} + P) - P\n"
                               f"{len(temporal.transformer.resblocks)} layers, {temporal.heads} head{'s' if temporal.heads > 1 else ''} -> Fo"
                     if temporal is not None else "no temporal encoder"),
        "tokens": ((0, 1), f"caption tokens\n[B, {L}]"),
        "text": ((2.6, 1), f"CLIP text transformer\n{text_cfg['layers']} layers, width {text_cfg['width']}"),
        "frame_level": ((7.9, 4.6), f"frame level: sentence -> frames\nq(LN s), k(LN Fo) in R^{attention_dim}\nv_s = mean + W(a . Fo), W = I at init"),
        "token_level": ((7.9, 2.6), f"token level: words -> frames\nsum_l beta_l cos(w_l, v_l)"),
        "fusion": ((10.4, 3.6), f"fusion\nlambda = {fusion}\nsim [Nt, Nv] in [-1, 1]"),
        "loss": ((10.4, 1.4), "symmetric InfoNCE\n(global batch, logit scale <= 100)"),
    }
    colours = {"frames": "#eeeeee", "tokens": "#eeeeee", "vit": "#cfe2f3", "text": "#cfe2f3",
               "temporal": "#d9ead3", "frame_level": "#fce5cd", "token_level": "#fce5cd",
               "fusion": "#f4cccc", "loss": "#ead1dc"}
    for name, (xy, label) in boxes.items():
        if name in ("frame_level", "token_level") and name not in levels:
            label = label.split("\n")[0] + "\n(off in this run)"
        _box(axis, xy, label, colours[name])
    _arrow(axis, (1.1, 4), (1.5, 4))
    _arrow(axis, (3.7, 4), (4.1, 4))
    _arrow(axis, (1.1, 1), (1.5, 1))
    _arrow(axis, (6.3, 4.1), (6.8, 4.5))
    _arrow(axis, (6.3, 3.9), (6.8, 2.8))
    _arrow(axis, (3.7, 1.2), (6.8, 4.3), f"s [B,{dim}]")
    _arrow(axis, (3.7, 1.0), (6.8, 2.4), f"W [B,{L},{dim}]")
    _arrow(axis, (9.0, 4.5), (9.3, 3.8))
    _arrow(axis, (9.0, 2.7), (9.3, 3.4))
    _arrow(axis, (10.4, 3.0), (10.4, 1.8))
    axis.text(5.2, 5.25, "video side: text-independent, cached at evaluation", ha="center", fontsize=7.5, color="green")
    axis.text(2.6, 0.2, "text side: video-independent, cached at evaluation", ha="center", fontsize=7.5, color="green")
    axis.text(7.9, 5.45, "pairwise: exact, chunked, never [Nt, Nv, D]", ha="center", fontsize=7.5, color="firebrick")
    axis.set_xlim(-1.3, 11.7)
    axis.set_ylim(-0.2, 5.7)
    axis.axis("off")
    axis.set_title(f"DLLFA as built by main_task_retrieval.py (--pretrained_clip_name {args.pretrained_clip_name}, "
                   f"--sim_header {args.sim_header}, D = {dim})", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
