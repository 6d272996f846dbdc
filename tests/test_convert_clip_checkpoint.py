import torch

from modules.clip_backbone import ClipBackbone
from modules.clip_checkpoint import read_clip_state_dict
from preprocess.convert_clip_checkpoint import main
from tests.test_clip_checkpoint import save_torchscript_archive


def test_archive_converts_to_safetensors_with_identical_weights(tiny_backbone, tmp_path, capsys):
    archive, target = str(tmp_path / "ViT-tiny.pt"), str(tmp_path / "ViT-tiny.safetensors")
    save_torchscript_archive(tiny_backbone, archive)
    assert main([archive, target]) == 0
    assert "wrote" in capsys.readouterr().out
    converted = read_clip_state_dict(target)
    for key, value in tiny_backbone.clip.state_dict().items():
        assert torch.equal(converted[key], value)
    ClipBackbone("tiny", checkpoint=target)


def test_bad_target_and_missing_source_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing.pt"), str(tmp_path / "out.safetensors")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.pt"), str(tmp_path / "out.bin")]) == 2
    assert not list(tmp_path.iterdir())
