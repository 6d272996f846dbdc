import os

import pytest
import torch
from safetensors.torch import save_file

from modules.clip_backbone import ClipBackbone
from modules.clip_weights.files import read_clip_weights, recorded_activation, write_clip_safetensors
from modules.errors import InputError
from modules.tokenizer import CaptionTokenizer
from tests.support.clip_files import save_torchscript_archive, tiny_clip


def embeddings(backbone):
    torch.manual_seed(4)
    video = torch.randint(0, 256, (2, 3, 3, 32, 32), dtype=torch.uint8)
    tokens = CaptionTokenizer(32)(["a red circle moves left", "a blue square"]).tokens
    with torch.no_grad():
        return backbone.encode_frames(video, torch.ones(2, 3)), *backbone.encode_text(tokens)[:2]


def save_archive(backbone, path):
    save_torchscript_archive(path, backbone.activation)


def save_openai_archive(backbone, path):
    save_torchscript_archive(path, backbone.activation, openai_style=True)


def save_openai_style_state_dict(backbone, path):
    """What `torch.save(openai_model.state_dict())` gives: OpenAI's metadata entries included."""
    state = dict(backbone.clip.state_dict())
    state.update(input_resolution=torch.tensor(32), context_length=torch.tensor(77), vocab_size=torch.tensor(49408))
    torch.save(state, path)


def save_wrapped_ddp_state_dict(backbone, path):
    torch.save({"state_dict": {"module." + k: v for k, v in backbone.clip.state_dict().items()}}, path)


def save_safetensors(backbone, path):
    save_file({k: v.contiguous() for k, v in backbone.clip.state_dict().items()}, path)


def save_safetensors_with_activation(backbone, path):
    write_clip_safetensors(backbone.clip.state_dict(), path, backbone.activation, "a test")


# writer, file name, what the file records about the activation (None: nothing)
FORMATS = [
    (save_archive, "ViT-tiny.pt", "the archive's"),
    (save_openai_archive, "ViT-openai.pt", "the archive's"),
    (save_openai_style_state_dict, "state.pth", "OpenAI's metadata entries"),
    (save_wrapped_ddp_state_dict, "wrapped.bin", None),
    (save_safetensors, "model.safetensors", None),
    (save_safetensors_with_activation, "recorded.safetensors", "its metadata (a test)"),
]


@pytest.mark.parametrize("writer,name,evidence", FORMATS)
def test_every_format_loads_to_the_same_embeddings(tmp_path, writer, name, evidence):
    trained = tiny_clip()
    path = str(tmp_path / name)
    writer(trained, path)
    loaded = ClipBackbone("tiny", checkpoint=path, activation=None if evidence else "quick_gelu").eval()
    # OpenAI's archives hold fp16 weights (as the real ones do)
    tolerance = 1e-2 if writer is save_openai_archive else 1e-5
    for expected, got in zip(embeddings(trained), embeddings(loaded)):
        assert (expected - got).abs().max() <= tolerance


@pytest.mark.parametrize("activation", ["quick_gelu", "gelu"])
@pytest.mark.parametrize("writer,name,evidence", FORMATS)
def test_each_format_records_its_activation_or_nothing(tmp_path, writer, name, evidence, activation):
    if writer is save_openai_style_state_dict and activation == "gelu":
        pytest.skip("OpenAI's code has no GELU model")
    path = str(tmp_path / name)
    writer(tiny_clip(activation), path)
    record = recorded_activation(path)
    assert record == read_clip_weights(path).record
    if evidence is None:
        assert record.activation is None
        with pytest.raises(InputError, match="do not record their activation .* pass --clip_activation"):
            ClipBackbone("tiny", checkpoint=path)
    else:
        assert record.activation == activation and record.evidence.startswith(evidence)
        assert ClipBackbone("tiny", checkpoint=path).activation == activation
        other = "gelu" if activation == "quick_gelu" else "quick_gelu"
        with pytest.raises(InputError, match=f"contradictory CLIP activation: .*{name} .* says {activation}; "
                                             f"--clip_activation says {other}"):
            ClipBackbone("tiny", checkpoint=path, activation=other)


def test_unknown_activation_in_safetensors_metadata(tmp_path):
    path = str(tmp_path / "odd.safetensors")
    save_file({"w": torch.ones(1)}, path, metadata={"clip_activation": "relu"})
    with pytest.raises(InputError, match="odd.safetensors: unknown clip_activation 'relu'"):
        recorded_activation(path)


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


def test_architecture_mismatch_names_the_keys(tmp_path):
    path = str(tmp_path / "tiny.safetensors")
    save_safetensors(tiny_clip(), path)
    with pytest.raises(InputError) as error:
        ClipBackbone("small", checkpoint=path, activation="quick_gelu")
    message = str(error.value)
    assert "does not match the requested architecture" in message
    assert "ln_final.weight (checkpoint (64,) vs model (128,))" in message
    assert "missing from checkpoint: " in message and "transformer.resblocks.2" in message


def test_written_safetensors_respect_the_umask(tmp_path):
    """A group-shared cache: mode 644 under umask 022, 664 under 002 (safetensors itself writes 600)."""
    previous = os.umask(0o022)
    try:
        for mask in (0o022, 0o002):
            os.umask(mask)
            path = tmp_path / f"ViT-tiny-{mask:o}.safetensors"
            write_clip_safetensors(tiny_clip().clip.state_dict(), str(path), "quick_gelu", "test")
            assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask
    finally:
        os.umask(previous)
