"""CLIP in fp16 as CLIP4Clip stores it: which tensors, and a forward/backward that runs in fp16."""
import torch
from open_clip.transformer import LayerNormFp32

from modules.clip_backbone import ClipBackbone
from modules.clip_fp16 import convert_clip_to_fp16

# What ArrowLuo/CLIP4Clip modules/module_clip.py:498-519 (convert_weights) makes fp16, by parameter
# name: Conv/Linear weights and biases, the attention input projections, proj and text_projection.
FP16_SUFFIXES = ("conv1.weight", "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
                 "attn.out_proj.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias",
                 "visual.proj", "text_projection")


def test_the_tensors_clip4clip_converts_are_fp16_and_the_rest_fp32():
    torch.manual_seed(0)
    clip = ClipBackbone("tiny").clip
    converted = convert_clip_to_fp16(clip)
    dtypes = {name: p.dtype for name, p in clip.named_parameters()}
    half = {name for name, dtype in dtypes.items() if dtype == torch.float16}
    assert half == {name for name in dtypes if name.endswith(FP16_SUFFIXES)} and converted == len(half)
    for kept in ("logit_scale", "token_embedding.weight", "positional_embedding", "visual.class_embedding",
                 "visual.positional_embedding", "visual.ln_pre.weight", "ln_final.bias",
                 "transformer.resblocks.0.ln_1.weight"):
        assert dtypes[kept] == torch.float32, kept
    assert all(type(m) is LayerNormFp32 for m in clip.modules() if isinstance(m, torch.nn.LayerNorm))


def test_fp16_towers_take_fp32_inputs_and_give_fp32_outputs_close_to_fp32():
    torch.manual_seed(0)
    reference = ClipBackbone("tiny")
    backbone = ClipBackbone("tiny")
    backbone.load_state_dict(reference.state_dict())
    convert_clip_to_fp16(backbone.clip)
    assert backbone.weight_dtype == torch.float16 and reference.weight_dtype == torch.float32
    video = torch.randint(0, 256, (2, 3, 3, 32, 32), dtype=torch.uint8)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    tokens = torch.tensor([[49406, 320, 1929, 49407, 0], [49406, 530, 49407, 0, 0]])
    frames = backbone.encode_frames(video, mask)
    sentence, words, _ = backbone.encode_text(tokens)
    assert frames.dtype == sentence.dtype == words.dtype == torch.float32
    torch.testing.assert_close(frames, reference.encode_frames(video, mask), atol=2e-2, rtol=2e-2)
    torch.testing.assert_close(sentence, reference.encode_text(tokens)[0], atol=2e-2, rtol=2e-2)
    assert not torch.equal(frames, reference.encode_frames(video, mask))  # it did run in fp16
    (frames.sum() + sentence.sum()).backward()
    grads = {name: p.grad for name, p in backbone.clip.named_parameters() if p.grad is not None}
    assert grads["visual.conv1.weight"].dtype == torch.float16 and grads["ln_final.weight"].dtype == torch.float32
    assert all(torch.isfinite(g).all() for g in grads.values())
