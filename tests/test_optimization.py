import math

import pytest
import torch
from torch import nn

from modules.bert_adam import BertAdam
from modules.clip_backbone import ClipBackbone
from modules.optimization import (RECIPES, ClipWarmupCosine, WarmupCosine, build_optimizer, build_param_groups,
                                  freeze_clip_layers)


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


def test_clip4clip_groups_exempt_only_biases_from_decay():
    """CLIP4Clip's no_decay list ('bias', 'LayerNorm.bias', 'LayerNorm.weight') matches only biases in
    CLIP, whose norms are named ln_*: its LayerNorm weights, embeddings and logit_scale are decayed."""
    groups = build_param_groups(_Model(), 1e-4, 1e-3, 0.2, no_weight_decay=RECIPES["clip4clip"].no_weight_decay)
    by_name = {name: g for g in groups for name in g["names"]}
    clip = "backbone.clip."
    for decayed in ("ln_final.weight", "logit_scale", "token_embedding.weight", "visual.class_embedding",
                    "visual.transformer.resblocks.0.attn.in_proj_weight", "text_projection"):
        assert by_name[clip + decayed]["weight_decay"] == 0.2, decayed
    for exempt in ("ln_final.bias", "visual.transformer.resblocks.0.attn.in_proj_bias", "visual.ln_pre.bias"):
        assert by_name[clip + exempt]["weight_decay"] == 0.0, exempt
    assert by_name["head.1.weight"]["weight_decay"] == 0.2 and by_name["head.0.bias"]["weight_decay"] == 0.0
    assert by_name[clip + "ln_final.weight"]["lr"] == pytest.approx(1e-7) and by_name["head.1.weight"]["lr"] == 1e-4


def test_xpool_groups_decay_every_parameter():
    groups = build_param_groups(_Model(), 3e-5, 1 / 30, 0.2, no_weight_decay=RECIPES["xpool"].no_weight_decay)
    assert all(g["weight_decay"] == 0.2 for g in groups)
    assert sorted(g["lr"] for g in groups) == pytest.approx([1e-6, 3e-5])


def test_clip4clip_warmup_cosine_follows_its_definition():
    """warmup_cosine(x, 0.1) of ArrowLuo/CLIP4Clip modules/optimization.py:26-29, x = step / total:
    0 at the first step, cosine of the overall progress after the warmup (a drop at its end)."""
    schedule = ClipWarmupCosine(total_steps=1000, warmup_proportion=0.1)
    assert schedule(0) == 0.0 and schedule(50) == pytest.approx(0.5) and schedule(99) == pytest.approx(0.99)
    assert schedule(100) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.1)))  # 0.976, not 1
    assert schedule(500) == pytest.approx(0.5) and schedule(1000) == pytest.approx(0.0)


def test_xpool_schedule_warms_up_from_zero_over_int_steps():
    """get_cosine_schedule_with_warmup of layer6ai-labs/xpool modules/optimization.py:81-85."""
    schedule = WarmupCosine(total_steps=105, warmup_proportion=0.1, from_zero=True)
    assert schedule.warmup_steps == 10 and schedule(0) == 0.0 and schedule(5) == pytest.approx(0.5)
    assert schedule(10) == pytest.approx(1.0) and schedule(105) == pytest.approx(0.0)


@pytest.mark.parametrize("recipe,kind,betas,first_lr", [("adamw", torch.optim.AdamW, (0.9, 0.98), 1e-5),
                                                        ("xpool", torch.optim.AdamW, (0.9, 0.999), 0.0),
                                                        ("clip4clip", BertAdam, (0.9, 0.98), 0.0)])
def test_each_recipe_builds_its_optimizer_and_schedule(recipe, kind, betas, first_lr):
    optimizer, _, _ = build_optimizer(_Model(), 1e-4, 1e-3, 0.2, total_steps=100, warmup_proportion=0.1,
                                      recipe=recipe)
    assert type(optimizer) is kind and optimizer.defaults["betas"] == betas and optimizer.defaults["eps"] == 1e-6
    assert max(g["lr"] for g in optimizer.param_groups) == pytest.approx(first_lr)
