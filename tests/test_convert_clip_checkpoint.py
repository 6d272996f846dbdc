import torch

from modules.clip_weights.files import read_clip_weights, recorded_activation
from preprocess.convert_clip_checkpoint import main
from tests.support.clip_files import save_setstate_archive, save_torchscript_archive, tiny_clip


def test_openai_archive_converts_with_identical_weights_and_its_activation(tmp_path, capsys):
    archive, target = str(tmp_path / "ViT-openai.pt"), str(tmp_path / "ViT-openai.safetensors")
    save_torchscript_archive(archive, "quick_gelu", openai_style=True)
    assert main([archive, target]) == 0
    assert "activation: quick_gelu (the archive's QuickGELU modules)" in capsys.readouterr().out
    converted = read_clip_weights(target)
    for key, value in tiny_clip().clip.state_dict().items():
        assert converted.state[key].dtype == torch.float16 and torch.equal(converted.state[key], value.half()), key
    assert converted.record.activation == "quick_gelu"
    assert "converted from ViT-openai.pt" in converted.record.evidence


def test_state_dict_without_a_record_takes_the_flag(tmp_path, capsys):
    source, target = str(tmp_path / "laion.bin"), str(tmp_path / "laion.safetensors")
    torch.save(tiny_clip("gelu").clip.state_dict(), source)
    assert main([source, target]) == 0
    assert "activation: not recorded" in capsys.readouterr().out
    assert recorded_activation(target).activation is None
    assert main([source, target, "--clip_activation", "gelu"]) == 0
    assert recorded_activation(target).activation == "gelu"


def test_a_flag_that_contradicts_the_archive_is_refused(tmp_path, capsys):
    archive, target = str(tmp_path / "ViT-tiny.pt"), str(tmp_path / "out.safetensors")
    save_torchscript_archive(archive, "gelu")
    assert main([archive, target, "--clip_activation", "quick_gelu"]) == 2
    assert "records gelu (the archive's GELU modules), not quick_gelu" in capsys.readouterr().err
    assert not (tmp_path / "out.safetensors").exists()


def test_an_archive_that_writes_a_file_is_not_converted_and_writes_nothing(tmp_path, capsys):
    archive, pwned = str(tmp_path / "evil.pt"), tmp_path / "PWNED"
    save_setstate_archive(archive, str(pwned))
    assert main([archive, str(tmp_path / "evil.safetensors")]) == 2
    assert "not a weights archive" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.pt"]


def test_bad_target_and_missing_source_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing.pt"), str(tmp_path / "out.safetensors")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.pt"), str(tmp_path / "out.bin")]) == 2
    assert not list(tmp_path.iterdir())
