import math

import pytest
import torch
from torch import nn

from modules.clip_backbone import ClipBackbone
from modules.optimization import WarmupCosine, build_optimizer, build_param_groups, freeze_clip_layers


class _Model(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.backbone = ClipBackbone("tiny")
        self.head = nn.Sequential(nn.Linear(64, 64), nn.LayerNorm(64))
        self.frame_position_embedding = nn.Parameter(torch.zeros(12, 64))
        self.temporal_positions = nn.Parameter(torch.zeros(12, 64))


def test_groups_split_clip_from_new_and_decay_from_no_decay():
    groups = build_param_groups(_Model(), lr=1e-4, coef_lr=1e-3, weight_decay=0.2)
    by_name = {name: g for g in groups for name in g["names"]}
    assert by_name["head.0.weight"]["lr"] == 1e-4 and by_name["head.0.weight"]["weight_decay"] == 0.2
    assert by_name["head.0.bias"]["weight_decay"] == 0.0
    assert by_name["head.1.weight"]["weight_decay"] == 0.0  # a norm
    assert by_name["frame_position_embedding"]["weight_decay"] == 0.0
    assert by_name["temporal_positions"]["weight_decay"] == 0.0
    clip = "backbone.clip."
    assert by_name[clip + "visual.conv1.weight"]["lr"] == pytest.approx(1e-7)
    assert by_name[clip + "visual.conv1.weight"]["weight_decay"] == 0.2
    for no_decay in ("logit_scale", "token_embedding.weight", "positional_embedding", "visual.class_embedding",
                     "ln_final.weight", "transformer.resblocks.0.attn.in_proj_bias"):
        assert by_name[clip + no_decay]["weight_decay"] == 0.0, no_decay
    assert by_name[clip + "text_projection"]["weight_decay"] == 0.2
    assert sum(len(g["params"]) for g in groups) == len(list(_Model().parameters()))


def test_warmup_then_cosine():
    schedule = WarmupCosine(total_steps=100, warmup_proportion=0.1)
    assert schedule(0) == pytest.approx(0.1)
    assert schedule(9) == pytest.approx(1.0)
    assert schedule(10) == pytest.approx(1.0)
    assert schedule(55) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert schedule(100) == pytest.approx(0.0)
    assert all(schedule(s) >= schedule(s + 1) for s in range(10, 100))


def test_optimizer_follows_the_schedule():
    model = _Model()
    optimizer, scheduler, _ = build_optimizer(model, 1e-4, 1e-3, 0.2, total_steps=10, warmup_proportion=0.2)
    lrs = []
    for _ in range(10):
        lrs.append(max(g["lr"] for g in optimizer.param_groups))
        optimizer.step()
        scheduler.step()
    assert lrs[0] == pytest.approx(0.5e-4) and lrs[1] == pytest.approx(1e-4) and lrs[-1] < 1e-5


def test_freeze_layer_num_semantics():
    clip = ClipBackbone("tiny").clip
    assert freeze_clip_layers(clip, -1) == 0 and all(p.requires_grad for p in clip.parameters())
    freeze_clip_layers(clip, 1)
    trainable = {name for name, p in clip.named_parameters() if p.requires_grad}
    for frozen in ("visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding",
                   "visual.ln_pre.weight", "token_embedding.weight", "positional_embedding",
                   "visual.transformer.resblocks.0.attn.in_proj_weight", "transformer.resblocks.0.mlp.c_fc.weight"):
        assert frozen not in trainable, frozen
    for kept in ("visual.transformer.resblocks.1.attn.in_proj_weight", "transformer.resblocks.1.ln_1.weight",
                 "visual.ln_post.weight", "visual.proj", "ln_final.bias", "text_projection", "logit_scale"):
        assert kept in trainable, kept
    groups = build_param_groups(nn.ModuleDict({"backbone": clip}), 1e-4, 1e-3, 0.2)
    assert all(p.requires_grad for g in groups for p in g["params"])
