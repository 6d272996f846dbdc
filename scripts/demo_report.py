"""Summarise the demo runs: one table (printed, runs/demo/summary.md, summary.json) and the figures.

    python scripts/demo_report.py --runs runs/demo --heads dllfa meanP [--img img]

The table gets one more line for the dllfa run: how alike the backbone's frames of one video are
(cosine between first and last frame, for moving shapes and for shapes changing in place).

Reads each head's run folder (metrics.json, metrics_history.jsonl, train_steps.jsonl, config.json,
checkpoint_best.pt) and writes into --img:
  demo_curves.png        training loss per step, R@1 and order-contrast accuracy per epoch on the
                         split the driver selects the model on (val for the synthetic dataset)
  demo_attention.png     DLLFA's frame-level (sentence) and token-level (word) attention over the
                         frames of a few test videos, the frames shown above
  dllfa_architecture.png the DLLFA model as built from the run's config, labelled from the modules
"""
import argparse
import json
import os
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dataloaders.registry import load_retrieval_splits  # noqa: E402
from dataloaders.retrieval_datasets import EvalVideoDataset  # noqa: E402
from dataloaders.twin_pairs import read_twin_index  # noqa: E402
from driver.flags import get_args  # noqa: E402
from driver.model_setup import build_model  # noqa: E402
from dataloaders.video_source import open_video_source  # noqa: E402
from modules.checkpointing import load_model_weights  # noqa: E402
from modules.frame_attention_pooling import FrameAttentionPooling  # noqa: E402
from modules.tokenizer import CaptionTokenizer  # noqa: E402

COLUMNS = ("R1", "R5", "R10", "MdR", "MnR", "order_contrast")
HEADERS = ("R@1", "R@5", "R@10", "MdR", "MnR", "order contrast")


def read_jsonl(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle]


def summary(runs: str, heads) -> dict:
    table = {}
    for head in heads:
        with open(os.path.join(runs, head, "metrics.json")) as handle:
            report = json.load(handle)
        table[head] = {**{k: report["t2v"][k] for k in COLUMNS[:5]}, "order_contrast": report["order_contrast"],
                       "n_captions": report["n_captions"], "n_videos": report["n_videos"]}
    return {"heads": table}


def test_videos(args, model):
    """The run's test split (videos that have frames) and its evaluation dataset."""
    source = open_video_source(args.features_path)
    split = source.restrict(load_retrieval_splits(args.datatype, args.data_path, msrvtt_split=args.msrvtt_split)["test"])
    dataset = EvalVideoDataset(split, source, max_frames=args.max_frames, image_size=model.backbone.image_size,
                               slice_framepos=args.slice_framepos, frame_order=args.eval_frame_order)
    return split, dataset


@torch.no_grad()
def frame_cosines(run: str) -> dict:
    """How different the backbone's frames of one video are: the cosine between the first and
    the last frame of every test video, averaged over videos whose shape moves across the
    image (canonical caption "... moves ...") and over those whose shape changes in place."""
    args, model = load_run_model(run)
    split, dataset = test_videos(args, model)
    groups = {"moving": [], "in_place": []}
    for v in range(len(split.video_ids)):
        canonical = split.captions[int(np.nonzero(split.caption_video_index == v)[0][0])]
        item = dataset[v]
        frames = model.encode_video(item["video"][None], item["video_mask"][None])[0][item["video_mask"]]  # [t, D]
        frames = torch.nn.functional.normalize(frames, dim=-1)
        groups["moving" if " moves " in canonical else "in_place"].append(float(frames[0] @ frames[-1]))
    return {name: {"cosine": float(np.mean(values)) if values else None, "videos": len(values)}
            for name, values in groups.items()}


def markdown(content: dict) -> str:
    heads = content["heads"]
    first = next(iter(heads.values()))
    lines = [f"Text-to-video on the synthetic test split ({first['n_captions']} captions x {first['n_videos']} "
             "videos); order contrast: share of test captions whose video outscores its time-reversed twin.", "",
             "| head | " + " | ".join(HEADERS) + " |", "|---|" + "---:|" * len(HEADERS)]
    for head, row in heads.items():
        cells = [f"{row[k]:.1f}" for k in COLUMNS[:5]] + [f"{row['order_contrast']:.3f}"]
        lines.append(f"| {head} | " + " | ".join(cells) + " |")
    if "dllfa_frame_cosines" in content:
        described = {"moving": "a shape moving across the image", "in_place": "a shape changing in place"}
        parts = [f"{described[name]} {group['cosine']:.2f} ({group['videos']} videos)"
                 for name, group in content["dllfa_frame_cosines"].items() if group["videos"]]
        lines += ["", "Backbone frames of the dllfa model (before the temporal encoder), cosine between a test "
                  "video's first and last frame: " + "; ".join(parts) + "."]
    return "\n".join(lines) + "\n"


def plot_curves(runs: str, heads, path: str) -> None:
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for head in heads:
        steps = read_jsonl(os.path.join(runs, head, "train_steps.jsonl"))
        epochs = read_jsonl(os.path.join(runs, head, "metrics_history.jsonl"))
        axes[0].plot([s["step"] for s in steps], [s["loss"] for s in steps], label=head, linewidth=0.8)
        axes[1].plot([e["epoch"] for e in epochs], [e["t2v"]["R1"] for e in epochs], label=head)
        axes[2].plot([e["epoch"] for e in epochs], [e["order_contrast"] for e in epochs], label=head)
    split = epochs[0]["split"]  # the model-selection split the driver evaluates every epoch
    for axis, title, xlabel in zip(axes, ("training loss", f"{split} text-to-video R@1", f"{split} order contrast"),
                                   ("step", "epoch", "epoch")):
        axis.set_title(title)
        axis.set_xlabel(xlabel)
        axis.legend()
        axis.grid(alpha=0.3)
    axes[2].axhline(0.5, color="grey", linestyle=":", linewidth=1)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def load_run_model(run: str):
    with open(os.path.join(run, "config.json")) as handle:
        config = json.load(handle)
    args = get_args(["--do_eval", "--data_path", config["data_path"], "--features_path", config["features_path"],
                            "--output_dir", run])
    for flag, value in config.items():  # every flag of the run (split, sampling, model), not a hand-picked few
        if hasattr(args, flag):
            setattr(args, flag, value)
    model = build_model(args, torch.device("cpu"))
    load_model_weights(model, os.path.join(run, "checkpoint_best.pt"))
    return args, model.eval()


@torch.no_grad()
def plot_attention(run: str, path: str, pairs: int = 2) -> None:
    """A twin pair or two: each video's frames, the sentence's attention over them (bars) and
    every word's attention (heat map), for the caption of that video."""
    args, model = load_run_model(run)
    split, dataset = test_videos(args, model)
    twins = read_twin_index(split.dataset, args.data_path, split.video_ids)
    first = [v for v in range(len(split.video_ids)) if twins is not None and twins[v] > v][:pairs]
    videos = [v for v in first for v in (v, int(twins[v]))] or list(range(2 * pairs))
    captions = [split.captions[int(np.nonzero(split.caption_video_index == v)[0][0])] for v in videos]
    tokenizer = CaptionTokenizer(args.max_words)
    tokens = tokenizer(captions).tokens
    items = [dataset[v] for v in videos]
    video = torch.stack([item["video"] for item in items])
    mask = torch.stack([item["video_mask"] for item in items])
    text = model.encode_text(tokens)
    head = model.head
    text_side = head.text_side(text.sentence, text.words, text.word_mask)
    video_side = head.video_side(model.encode_video(video, mask), mask)
    frame_attention = FrameAttentionPooling.attention(text_side.frame, video_side.frame, mask)  # [N, 1, V, T]
    word_attention = FrameAttentionPooling.attention(text_side.token, video_side.token, mask)  # [N, L, V, T]
    figure, axes = plt.subplots(3, len(videos), figsize=(3.4 * len(videos), 7.5),
                                gridspec_kw={"height_ratios": [1, 1, 2.2]})
    for column, v in enumerate(range(len(videos))):
        frames = video[v][mask[v]].permute(0, 2, 3, 1).numpy()  # [T, H, W, 3]
        real = len(frames)
        axes[0, column].imshow(np.concatenate(list(frames), axis=1))
        axes[0, column].set_title(textwrap.fill(captions[v], 34), fontsize=8)
        axes[0, column].axis("off")
        axes[1, column].bar(range(real), frame_attention[v, 0, v, :real].numpy(), color="tab:blue")
        axes[1, column].set_ylim(0, 1)
        axes[1, column].set_title("sentence -> frames", fontsize=8)
        words = [tokenizer.decode_token(int(t)) for t in tokens[v][text.word_mask[v]]]
        heat = word_attention[v, text.word_mask[v], v, :real].numpy()
        axes[2, column].imshow(heat, aspect="auto", cmap="viridis", vmin=0, vmax=1)
        axes[2, column].set_yticks(range(len(words)), words, fontsize=7)
        axes[2, column].set_xlabel("frame")
        axes[2, column].set_title("words -> frames", fontsize=8)
    figure.suptitle("DLLFA attention on time-reversed twins (same frames, opposite order)", fontsize=10)
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
    fusion = "learned" if head.fusion_logit is not None else head.fusion
    T, L = args.max_frames, args.max_words
    figure, axis = plt.subplots(figsize=(11, 5.2))
    boxes = {
        "frames": ((0, 4), f"frames\n[B, {T}, 3, {vision['image_size']}, {vision['image_size']}] uint8"),
        "vit": ((2.6, 4), f"CLIP ViT ({type(backbone.clip.visual).__name__})\n{vision['layers']} layers, "
                          f"width {vision['width']}, patch {vision['patch_size']}\n-> F [B, {T}, {dim}]"),
        "temporal": ((5.2, 4), f"{type(temporal).__name__}\n"
                               f"Fo = F + TE({'F - mean F' if temporal is not None and temporal.centre else 'F'} + P)\n"
                               f"{len(temporal.transformer.resblocks)} layers, {temporal.heads} head{'s' if temporal.heads > 1 else ''} -> Fo"
                     if temporal is not None else "no temporal encoder"),
        "tokens": ((0, 1), f"caption tokens\n[B, {L}]"),
        "text": ((2.6, 1), f"CLIP text transformer\n{text_cfg['layers']} layers, width {text_cfg['width']}"),
        "frame_level": ((7.9, 4.6), f"frame level: sentence -> frames\nq, k in R^{attention_dim}\nv_s = mean + W(a . Fo)"),
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="runs/demo")
    parser.add_argument("--heads", nargs="+", default=["dllfa", "meanP"])
    parser.add_argument("--img", default="img", help="folder for the figures")
    args = parser.parse_args(argv)
    content = summary(args.runs, args.heads)
    if "dllfa" in args.heads:
        content["dllfa_frame_cosines"] = frame_cosines(os.path.join(args.runs, "dllfa"))
    table = markdown(content)
    with open(os.path.join(args.runs, "summary.md"), "w") as handle:
        handle.write(table)
    with open(os.path.join(args.runs, "summary.json"), "w") as handle:
        json.dump(content, handle, indent=2)
    print(table)
    os.makedirs(args.img, exist_ok=True)
    plot_curves(args.runs, args.heads, os.path.join(args.img, "demo_curves.png"))
    if "dllfa" in args.heads:
        plot_attention(os.path.join(args.runs, "dllfa"), os.path.join(args.img, "demo_attention.png"))
        plot_architecture(os.path.join(args.runs, "dllfa"), os.path.join(args.img, "dllfa_architecture.png"))
    print(f"summary: {os.path.join(args.runs, 'summary.md')}, figures: {args.img}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
