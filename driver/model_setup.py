"""Build the model from the flags: CLIP weights (a file or a pretrained tag), backbone, head,
frozen layers; seeding."""
import logging
import os
import random
from functools import partial
from typing import Optional

import numpy as np
import torch
import torch.distributed as dist

from driver.checkpoints import position_table_frames
from driver.flags import PRECISIONS
from modules.clip_backbone import ClipBackbone
from modules.clip_weights.download import fetch_pretrained
from modules.clip_weights.open_clip_registry import pretrained_config
from modules.clip_fp16 import convert_clip_to_fp16
from modules.collectives import is_distributed
from modules.optimization import freeze_clip_layers
from modules.retrieval_heads import FUSIONS, build_head
from modules.retrieval_model import RetrievalModel

LOG = logging.getLogger("dllfa")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def clip_weights_file(args, first_on_node: bool) -> Optional[str]:
    """The file of `--clip_checkpoint`: the path itself, or the cached file of a pretrained tag. Under
    torchrun the first process of each node fetches the tag (downloading it if needed) while the
    others wait at a barrier, then find it in the cache; a file lock in `fetch_pretrained` keeps
    nodes or jobs that share the cache from downloading it twice."""
    if args.clip_checkpoint is None or pretrained_config(args.pretrained_clip_name, args.clip_checkpoint) is None:
        return args.clip_checkpoint
    fetch = partial(fetch_pretrained, args.pretrained_clip_name, args.clip_checkpoint, args.cache_dir)
    if not is_distributed():
        return fetch()
    path = fetch() if first_on_node else None
    dist.barrier()
    return path if first_on_node else fetch()


def build_model(args, device: torch.device) -> RetrievalModel:
    weights = clip_weights_file(args, first_on_node=int(os.environ.get("LOCAL_RANK", "0")) == 0)
    backbone = ClipBackbone(args.pretrained_clip_name, checkpoint=weights,
                            activation=args.clip_activation, grad_checkpointing=args.grad_checkpointing,
                            autocast_dtype=PRECISIONS[args.precision])
    pretrained = args.clip_checkpoint is not None  # CLIP4Clip's init copies pretrained text blocks only
    head = build_head(args.sim_header, embed_dim=backbone.embed_dim, max_frames=position_table_frames(args),
                      temporal_layers=args.cross_num_hidden_layers,
                      clip_text_transformer=backbone.clip.transformer if pretrained else None,
                      clip_positional_embedding=backbone.clip.positional_embedding if pretrained else None,
                      attention_dim=args.attention_dim, dllfa_levels=args.dllfa_levels,
                      dllfa_temporal=not args.dllfa_no_temporal, temporal_centering=args.temporal_centering,
                      dllfa_token_frames=args.dllfa_token_frames, dllfa_order_fusion=args.dllfa_order_fusion,
                      dllfa_token_loss=args.dllfa_token_loss,
                      dllfa_fusion=args.dllfa_fusion if args.dllfa_fusion in FUSIONS else float(args.dllfa_fusion))
    model = RetrievalModel(backbone, head, sim_memory_mb=args.sim_memory_mb, reference_gpus=args.reference_gpus)
    frozen = freeze_clip_layers(backbone.clip, args.freeze_layer_num)
    if frozen:
        LOG.info("froze %d CLIP tensors (--freeze_layer_num %d)", frozen, args.freeze_layer_num)
    if args.optimizer == "clip4clip":  # after the temporal encoder copied CLIP's fp32 text blocks
        LOG.info("CLIP4Clip recipe: %d CLIP tensors stored in fp16", convert_clip_to_fp16(backbone.clip))
    return model.to(device)
