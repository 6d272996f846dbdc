"""Flag values that cannot work are argparse errors (exit status 2, one message), before
anything is read or trained; the optimizer recipes refuse meaningless combinations."""
import pytest

from driver.checkpoints import differing_model_flags
from driver.flags import build_parser, get_args

REQUIRED = ["--do_train", "--data_path", "ann", "--features_path", "frames", "--output_dir", "out"]


@pytest.mark.parametrize("flag, value, message", [
    ("--batch_size", "0", "--batch_size must be at least 1, got 0"),
    ("--batch_size_val", "0", "--batch_size_val must be at least 1, got 0"),
    ("--gradient_accumulation_steps", "0", "--gradient_accumulation_steps must be at least 1, got 0"),
    ("--num_thread_reader", "-1", "--num_thread_reader must be at least 0, got -1"),
    ("--max_frames", "-3", "--max_frames must be at least 1, got -3"),
    ("--max_words", "2", "--max_words must be at least 3, got 2"),
    ("--epochs", "0", "--epochs must be at least 1, got 0"),
    ("--lr", "-0.0001", "--lr must be greater than 0, got -0.0001"),
    ("--lr", "nan", "--lr must be a finite number, got nan"),
    ("--coef_lr", "-1", "--coef_lr must be at least 0, got -1.0"),
    ("--warmup_proportion", "1.5", "--warmup_proportion must be at most 1, got 1.5"),
    ("--max_grad_norm", "-1", "--max_grad_norm must be at least 0, got -1.0"),
    ("--sim_memory_mb", "inf", "--sim_memory_mb must be a finite number, got inf"),
    ("--seed", "-1", "--seed must be at least 0, got -1"),
    ("--n_display", "0", "--n_display must be at least 1, got 0"),
    ("--freeze_layer_num", "-2", "--freeze_layer_num must be at least -1, got -2"),
    ("--cross_num_hidden_layers", "0", "--cross_num_hidden_layers must be at least 1, got 0"),
    ("--attention_dim", "0", "--attention_dim must be at least 1, got 0"),
])
def test_impossible_numeric_flags_exit_with_status_2(capsys, flag, value, message):
    with pytest.raises(SystemExit) as exit_info:
        get_args(REQUIRED + [flag, value])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"error: {message}")


def test_the_defaults_and_edge_values_are_accepted():
    args = get_args(REQUIRED + ["--num_thread_reader", "0", "--warmup_proportion", "1", "--coef_lr", "0",
                                "--freeze_layer_num", "-1", "--seed", "0", "--max_grad_norm", "0"])
    assert args.batch_size == 128 and args.num_thread_reader == 0 and args.epochs == 5


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


def test_a_checkpoint_trained_with_another_activation_differs_by_that_flag():
    trained = {"config": {"sim_header": "dllfa", "pretrained_clip_name": "ViT-B/32", "clip_activation": "quick_gelu"}}
    gelu = get_args(REQUIRED + ["--clip_activation", "gelu"])
    quick = get_args(REQUIRED)
    assert differing_model_flags(gelu, trained) == ["--clip_activation: gelu here, quick_gelu in the checkpoint"]
    assert differing_model_flags(quick, trained) == []
    assert differing_model_flags(gelu, {"model": {}}) == []  # a plain state dict has no config to compare


def test_eval_of_a_clip4clip_checkpoint_needs_clip_in_fp16_too():
    """clip4clip runs CLIP in fp16, so its checkpoints are evaluated that way; adamw and xpool alike."""
    trained = {"config": {"optimizer": "clip4clip"}}
    assert differing_model_flags(get_args(REQUIRED), trained) == [
        "--optimizer: adamw here, clip4clip in the checkpoint"]
    assert differing_model_flags(get_args(REQUIRED + ["--optimizer", "clip4clip"]), trained) == []
    assert differing_model_flags(get_args(REQUIRED + ["--optimizer", "xpool"]), {"config": {"optimizer": "adamw"}}) == []


def test_help_shows_every_default_and_says_whose_recipe_they_are(capsys):
    parser = build_parser("defaults: the demo's fp32 AdamW recipe; the launchers pass the recipe card's")
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    out = capsys.readouterr().out
    entries = {"--" + chunk.split()[0]: " ".join(chunk.split()) for chunk in out.split("\n  --")[1:]}  # flag: help
    flags = [action.option_strings[0] for action in parser._actions if "--help" not in action.option_strings]
    assert sorted(entries) == sorted(flags)
    assert [flag for flag in flags if "(default: " not in entries[flag]] == []
    for flag, default in (("seed", 42), ("max_frames", 12), ("optimizer", "adamw"), ("precision", "fp32"),
                          ("slice_framepos", "uniform"), ("temporal_centering", False), ("weight_decay", 0.2)):
        assert f"(default: {default})" in entries["--" + flag], flag
    assert "the launchers pass the recipe card's" in out
