"""RetrievalModel.forward on 2 gloo processes: the temporal encoder runs on each rank's own videos
(before the gather), and nothing in the forward and backward turns a tensor into a Python number
(on a GPU each would wait for the device)."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from modules.clip_backbone import ClipBackbone
from modules.contrastive_loss import symmetric_infonce
from modules.retrieval_heads import build_head
from modules.retrieval_model import RetrievalModel

HOST_READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__")
LOCAL_BATCH, FRAMES, WORDS = 3, 4, 8


def tiny_model() -> RetrievalModel:
    torch.manual_seed(0)
    backbone = ClipBackbone("tiny")
    return RetrievalModel(backbone, build_head("dllfa", backbone.embed_dim, FRAMES, temporal_layers=1))


def batch(rank: int):
    generator = torch.Generator().manual_seed(rank)
    tokens = torch.randint(1, 400, (LOCAL_BATCH, WORDS), generator=generator)
    tokens[:, -1] = 49407  # EOT
    video = torch.randint(0, 256, (LOCAL_BATCH, FRAMES, 3, 32, 32), generator=generator, dtype=torch.uint8)
    video_mask = torch.ones(LOCAL_BATCH, FRAMES, dtype=torch.bool)
    video_mask[0, -1] = False
    return tokens, video, video_mask


def _worker(rank, port, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    model = tiny_model()
    encoded = []
    model.head.temporal.register_forward_hook(lambda module, inputs, output: encoded.append(inputs[0].shape[0]))
    reads = []
    originals = {name: getattr(torch.Tensor, name) for name in HOST_READS}

    def counting(name):
        return lambda self, *args: reads.append(name) or originals[name](self, *args)

    for name in HOST_READS:
        setattr(torch.Tensor, name, counting(name))
    try:
        loss = model(*batch(rank))
        loss.backward()
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)
    results[rank] = (encoded, reads, float(loss))
    dist.destroy_process_group()


@pytest.mark.slow  # two gloo processes
def test_forward_encodes_local_videos_and_reads_nothing_on_the_host():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    results = mp.Manager().dict()
    mp.spawn(_worker, args=(port, results), nprocs=2)
    for rank in (0, 1):
        encoded, reads, loss = results[rank]
        assert encoded == [LOCAL_BATCH] * 2  # its own 3 videos, forwards and reversed (order fusion), not the 6 gathered
        assert reads == []
    assert results[0][2] == results[1][2]  # one global loss
    # the global batch in one process gives the same loss
    parts = [batch(rank) for rank in (0, 1)]
    together = tiny_model()(*(torch.cat([part[i] for part in parts]) for i in range(3))).detach()
    assert abs(float(together) - results[0][2]) < 1e-5


def test_forward_sums_the_infonce_of_every_training_score():
    """With DLLFA's token loss the loss is the fused score's InfoNCE plus the token level's order-free
    score's, both at CLIP's logit scale (one process: the gathers are the local batch)."""
    torch.manual_seed(0)
    backbone = ClipBackbone("tiny")
    model = RetrievalModel(backbone, build_head("dllfa", backbone.embed_dim, FRAMES, temporal_layers=1,
                                                dllfa_token_loss=True)).train()
    tokens, video, video_mask = batch(0)
    loss = model(tokens, video, video_mask)
    with torch.no_grad():
        text = model.encode_text(tokens)
        head = model.head
        sims = head.training_similarities(head.text_side(text.sentence, text.words, text.word_mask),
                                          head.pool_video(model.encode_video(video, video_mask), video_mask))
        scale = backbone.logit_scale.exp()
        fused_alone = symmetric_infonce(sims[0], scale)
    assert len(sims) == 2
    assert torch.allclose(loss.detach(), fused_alone + symmetric_infonce(sims[1], scale), atol=1e-6)
    assert abs(float(loss.detach()) - float(fused_alone)) > 1e-2
