"""Flag checks of the optimizer recipes: meaningless combinations are refused with a clear message."""
import pytest

from driver.flags import get_args

REQUIRED = ["--do_train", "--output_dir", "out", "--data_path", "data", "--features_path", "frames"]


def test_the_cli_default_is_the_fp32_adamw_recipe():
    args = get_args(REQUIRED)
    assert args.optimizer == "adamw" and args.precision == "fp32" and args.freeze_layer_num == -1


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_clip4clip_refuses_autocast(precision, capsys):
    with pytest.raises(SystemExit) as exit_info:
        get_args(REQUIRED + ["--optimizer", "clip4clip", "--precision", precision])
    assert exit_info.value.code == 2
    assert "--optimizer clip4clip runs CLIP with fp16 weights" in capsys.readouterr().err


def test_autocast_stays_available_to_the_fp32_recipes():
    assert get_args(REQUIRED + ["--optimizer", "xpool", "--precision", "bf16"]).precision == "bf16"
    assert get_args(REQUIRED + ["--optimizer", "clip4clip"]).optimizer == "clip4clip"
