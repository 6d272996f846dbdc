import os

import pytest
import torch
from safetensors.torch import save_file

from modules.clip_backbone import ClipBackbone
from modules.errors import InputError
from modules.tokenizer import CaptionTokenizer


@pytest.fixture
def trained_backbone():
    """A tiny CLIP with non-default weights, so a failed load cannot pass by coincidence."""
    torch.manual_seed(3)
    backbone = ClipBackbone("tiny").eval()
    with torch.no_grad():
        for parameter in backbone.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    return backbone


def embeddings(backbone):
    torch.manual_seed(4)
    video = torch.randint(0, 256, (2, 3, 3, 32, 32), dtype=torch.uint8)
    tokens = CaptionTokenizer(32)(["a red circle moves left", "a blue square"]).tokens
    with torch.no_grad():
        return backbone.encode_frames(video, torch.ones(2, 3)), *backbone.encode_text(tokens)[:2]


def save_torchscript_archive(backbone, path):
    """What OpenAI ships: a traced CLIP, with OpenAI's metadata entries in its state dict."""
    image = torch.zeros(1, 3, 32, 32)
    tokens = CaptionTokenizer(77)(["a photo"]).tokens
    traced = torch.jit.trace(backbone.clip, (image, tokens), check_trace=False)
    traced.save(path)


def save_openai_style_state_dict(backbone, path):
    state = dict(backbone.clip.state_dict())
    state["input_resolution"] = torch.tensor(32)
    state["context_length"] = torch.tensor(77)
    state["vocab_size"] = torch.tensor(49408)
    torch.save(state, path)


def save_wrapped_ddp_state_dict(backbone, path):
    torch.save({"state_dict": {"module." + k: v for k, v in backbone.clip.state_dict().items()}}, path)


def save_safetensors(backbone, path):
    save_file({k: v.contiguous() for k, v in backbone.clip.state_dict().items()}, path)


@pytest.mark.parametrize("writer,name", [
    (save_torchscript_archive, "ViT-tiny.pt"),
    (save_openai_style_state_dict, "state.pth"),
    (save_wrapped_ddp_state_dict, "wrapped.bin"),
    (save_safetensors, "model.safetensors"),
])
def test_every_format_loads_to_the_same_embeddings(trained_backbone, tmp_path, writer, name):
    path = str(tmp_path / name)
    writer(trained_backbone, path)
    loaded = ClipBackbone("tiny", checkpoint=path).eval()
    for expected, got in zip(embeddings(trained_backbone), embeddings(loaded)):
        assert (expected - got).abs().max() <= 1e-5


def test_missing_checkpoint_names_the_path(tmp_path):
    with pytest.raises(InputError, match="not found: .*nowhere.pt"):
        ClipBackbone("tiny", checkpoint=str(tmp_path / "nowhere.pt"))


@pytest.mark.parametrize("content", [b"this is a README, not weights\n", b""])
def test_file_that_is_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "notes.pt"
    path.write_bytes(content)
    with pytest.raises(InputError, match="notes.pt: not a readable CLIP checkpoint"):
        ClipBackbone("tiny", checkpoint=str(path))


def test_torch_file_without_tensors(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(InputError, match="not a CLIP checkpoint"):
        ClipBackbone("tiny", checkpoint=str(path))


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_CHECKPOINT",))


def test_pickled_code_is_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"weight": _Payload()}, "evil.pt", _use_new_zipfile_serialization=True)
    with pytest.raises(InputError, match="evil.pt"):
        ClipBackbone("tiny", checkpoint="evil.pt")
    assert not (tmp_path / "PWNED_BY_CHECKPOINT").exists()


def test_architecture_mismatch_names_the_keys(trained_backbone, tmp_path):
    path = str(tmp_path / "tiny.safetensors")
    save_safetensors(trained_backbone, path)
    with pytest.raises(InputError) as error:
        ClipBackbone("small", checkpoint=path)
    message = str(error.value)
    assert "does not match the requested architecture" in message
    assert "ln_final.weight (checkpoint (64,) vs model (128,))" in message
    assert "missing from checkpoint: " in message and "transformer.resblocks.2" in message
