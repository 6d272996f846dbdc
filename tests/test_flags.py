import pytest

from driver.flags import differing_model_flags, get_args

REQUIRED = ["--do_train", "--data_path", "data", "--features_path", "frames", "--output_dir", "run"]


def test_activation_is_settled_when_the_flags_are_parsed():
    assert get_args(REQUIRED + ["--pretrained_clip_name", "tiny"]).clip_activation == "quick_gelu"
    assert get_args(REQUIRED + ["--clip_checkpoint", "openai"]).clip_activation == "quick_gelu"
    assert get_args(REQUIRED + ["--clip_checkpoint", "laion2b_s34b_b79k"]).clip_activation == "gelu"
    assert get_args(REQUIRED + ["--pretrained_clip_name", "ViT-B-32-quickgelu"]).clip_activation == "quick_gelu"


@pytest.mark.parametrize("extra,message", [
    (["--clip_checkpoint", "laion2b_s34b_b79k", "--clip_activation", "quick_gelu"],
     "laion2b_s34b_b79k (open_clip's pretrained config of ViT-B-32 'laion2b_s34b_b79k') says gelu; "
     "--clip_activation says quick_gelu"),
    (["--clip_checkpoint", "laion2b_e99"], "laion2b_e99 is no file, and not a pretrained tag of ViT-B/32"),
])
def test_contradictions_and_unknown_tags_stop_at_the_flags(extra, message, capsys):
    with pytest.raises(SystemExit) as exit_status:
        get_args(REQUIRED + extra)
    assert exit_status.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and message in error


def test_checkpoints_from_before_the_activation_flag_count_as_quick_gelu():
    old = {"config": {"sim_header": "dllfa", "pretrained_clip_name": "ViT-B/32"}}  # no clip_activation key
    gelu = get_args(REQUIRED + ["--clip_activation", "gelu"])
    quick = get_args(REQUIRED)
    assert differing_model_flags(gelu, old) == ["--clip_activation: gelu here, quick_gelu in the checkpoint"]
    assert differing_model_flags(quick, old) == []
    assert differing_model_flags(gelu, {"model": {}}) == []  # a plain state dict has no config to compare
