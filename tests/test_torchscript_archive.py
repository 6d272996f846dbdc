from typing import List

import pytest
import torch
from torch import nn

from modules.errors import InputError
from modules.clip_weights.torchscript_archive import TorchScriptArchive, is_torchscript_archive
from tests.support.clip_files import (save_handmade_archive, save_reduce_archive, save_setstate_archive,
                              save_torchscript_archive, tiny_clip)

# What OpenAI's archives name their tensors (open_clip's CLIP keeps OpenAI's names).
OPENAI_NAMES = ("visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding", "visual.ln_pre.weight",
                "visual.transformer.resblocks.0.attn.in_proj_weight", "visual.transformer.resblocks.1.mlp.c_fc.bias",
                "visual.ln_post.bias", "visual.proj", "token_embedding.weight", "positional_embedding",
                "transformer.resblocks.0.attn.in_proj_weight", "transformer.resblocks.0.attn.out_proj.weight",
                "transformer.resblocks.1.mlp.c_proj.weight", "ln_final.weight", "text_projection", "logit_scale",
                "input_resolution", "context_length", "vocab_size")


@pytest.mark.parametrize("openai_style", [False, True])
def test_traced_clip_reads_to_its_state_dict(tmp_path, openai_style):
    backbone = tiny_clip()
    path = str(tmp_path / "ViT-tiny.pt")
    save_torchscript_archive(path, openai_style=openai_style)
    assert is_torchscript_archive(path)
    state = TorchScriptArchive(path).state_dict()
    expected = backbone.clip.state_dict()
    if openai_style:
        assert set(OPENAI_NAMES) <= set(state)
        assert [int(state[k]) for k in ("input_resolution", "context_length", "vocab_size")] == [32, 77, 49408]
        expected = {k: v.half() for k, v in expected.items()}
    else:
        expected["attn_mask"] = backbone.clip.attn_mask  # a buffer of open_clip's CLIP, outside its state dict
    for key, value in expected.items():
        assert state[key].dtype == value.dtype and torch.equal(state[key], value), key
    assert set(state) - set(expected) == ({"input_resolution", "context_length", "vocab_size"} if openai_style else set())


class _Scripted(nn.Module):
    """Scripting keeps more than tracing: typed lists, optional parameters, plain attributes."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 2, bias=False))
        self.register_buffer("counts", torch.arange(5).view(5, 1)[::2])  # a strided view of a storage
        self.register_buffer("scratch", torch.ones(2), persistent=False)
        self.sizes: List[int] = [1, 2, 3]
        self.name = "scripted"

    def forward(self, x):
        return self.blocks(x) * len(self.sizes) + self.scratch


def test_scripted_module_reads_like_torch_jit_load(tmp_path):
    path = str(tmp_path / "scripted.pt")
    torch.manual_seed(0)
    torch.jit.script(_Scripted()).save(path)
    archive = TorchScriptArchive(path)
    state, reference = archive.state_dict(), torch.jit.load(path).state_dict()
    assert set(state) == set(reference) == {"counts", "scratch", "blocks.0.weight", "blocks.0.bias", "blocks.2.weight"}
    assert all(torch.equal(state[key], reference[key]) for key in reference)
    assert archive.module_classes()["blocks.1"] == "GELU"


def test_an_archive_that_writes_a_file_on_load_is_refused_and_writes_nothing(tmp_path):
    path, target = str(tmp_path / "evil.pt"), tmp_path / "PWNED_BY_ARCHIVE"
    save_setstate_archive(path, str(target))
    with pytest.raises(InputError, match="evil.pt: not a weights archive: .*__setstate__ code"):
        TorchScriptArchive(path).state_dict()
    assert not target.exists()
    torch.jit.load(path)  # what the reader replaces: torch.jit.load runs the archive's code
    assert target.exists()


def test_a_pickle_that_calls_a_function_is_refused(tmp_path):
    path, target = str(tmp_path / "evil.pt"), tmp_path / "PWNED_BY_PICKLE"
    save_reduce_archive(path, str(target))
    assert is_torchscript_archive(path)
    with pytest.raises(InputError, match=r"evil.pt: refused .* refers to \w+\.exec, which weights never need"):
        TorchScriptArchive(path)
    assert not target.exists()


def test_views_of_one_storage_read_as_views(tmp_path):
    path = str(tmp_path / "handmade.pt")
    save_handmade_archive(path, {"whole": (0, (2, 3), (3, 1)), "column": (1, (2,), (3,)), "tail": (4, (2,), (1,))},
                          numel=6)
    state = TorchScriptArchive(path).state_dict()
    assert state["whole"].shape == (2, 3) and state["column"].shape == (2,)
    state["whole"].copy_(torch.arange(6.0).view(2, 3))
    assert state["column"].tolist() == [1.0, 4.0] and state["tail"].tolist() == [4.0, 5.0]


@pytest.mark.parametrize("tensors,numel,storage_bytes,message", [
    ({"w": (0, (4,), (1,))}, 4, 12, r"storage handmade/data/0 holds 12 bytes, 4 x torch.float32 expected"),
    ({"w": (2, (4,), (1,))}, 4, None, r"tensor \(4,\) at offset 2 reaches past its storage of 4"),
    ({"w": (0, (2, 2), (3, 1))}, 4, None, r"reaches past its storage of 4"),
    ({"w": (0, (4,), (1, 1))}, 4, None, r"size \(4,\) and stride \(1, 1\) differ"),
])
def test_malformed_storages_and_tensors_are_errors(tmp_path, tensors, numel, storage_bytes, message):
    path = str(tmp_path / "handmade.pt")
    save_handmade_archive(path, tensors, numel, storage_bytes)
    with pytest.raises(InputError, match=message):
        TorchScriptArchive(path).state_dict()


def test_a_module_tree_with_a_cycle_is_refused(tmp_path):
    path = str(tmp_path / "handmade.pt")
    save_handmade_archive(path, {"w": (0, (4,), (1,))}, numel=4, cycle=True)
    with pytest.raises(InputError, match="not a weights archive: the module at 'itself' appears twice"):
        TorchScriptArchive(path).state_dict()


def test_files_that_are_not_archives(tmp_path):
    plain = tmp_path / "state.pt"
    torch.save({"weight": torch.ones(2)}, plain)
    assert not is_torchscript_archive(str(plain))
    text = tmp_path / "notes.pt"
    text.write_text("not a zip")
    assert not is_torchscript_archive(str(text))
