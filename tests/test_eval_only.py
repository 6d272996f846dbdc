"""Eval-only takes the model and what it sees from the checkpoint's config: a run trained with
non-default model and sampling flags is reproduced by `--do_eval --init_model` given only the
data paths; an input flag given otherwise is an override, logged and recorded."""
import json
import os
import subprocess
import sys

import pytest

import main_task_retrieval
from driver.checkpoints import adopt_checkpoint_flags
from driver.flags import build_parser, explicit_flags, get_args
from tests.support.driver_runs import evaluated_metrics, trained_run

pytestmark = pytest.mark.slow  # driver runs and scripts/eval.sh end to end

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Non-default flags that change what the model computes or sees on the 4-frame synthetic videos.
TRAINED_WITH = ("--epochs", "1", "--batch_size", "8", "--max_frames", "3", "--slice_framepos", "linspace",
                "--max_words", "10", "--eval_frame_order", "reverse", "--temporal_centering", "--dllfa_fusion", "0.3")


@pytest.fixture(scope="module")
def sampled_run(synthetic):
    return trained_run(synthetic, "sampled", *TRAINED_WITH)


def bare_eval_args(synthetic, output, checkpoint, *extra):
    return ["--do_eval", "--init_model", str(checkpoint), "--data_path", synthetic["annotations"],
            "--features_path", synthetic["frames"], "--output_dir", str(output), "--num_thread_reader", "0", *extra]


def test_eval_only_with_the_data_paths_alone_reproduces_the_runs_test_metrics(synthetic, sampled_run):
    output = synthetic["root"] / "bare_eval"
    assert main_task_retrieval.main(bare_eval_args(synthetic, output, sampled_run / "checkpoint_best.pt")) == 0
    assert evaluated_metrics(output) == json.loads((sampled_run / "metrics.json").read_text())
    again = json.loads((output / "metrics.json").read_text())
    assert again["overrides"] == {} and again["init_model"] == str(sampled_run / "checkpoint_best.pt")
    config = json.loads((output / "config.json").read_text())
    assert (config["max_frames"], config["slice_framepos"], config["max_words"], config["eval_frame_order"],
            config["temporal_centering"], config["dllfa_fusion"], config["pretrained_clip_name"],
            config["cross_num_hidden_layers"]) == (3, "linspace", 10, "reverse", True, "0.3", "tiny", 1)


def test_an_explicit_other_max_frames_is_an_override_logged_and_recorded(synthetic, sampled_run):
    output = synthetic["root"] / "override_eval"
    args = bare_eval_args(synthetic, output, sampled_run / "checkpoint_best.pt", "--max_frames", "2")
    assert main_task_retrieval.main(args) == 0
    override = {"max_frames": {"checkpoint": 3, "used": 2}}
    assert json.loads((output / "metrics.json").read_text())["overrides"] == override
    config = json.loads((output / "config.json").read_text())
    assert config["overrides"] == override and config["max_frames"] == 2 and config["slice_framepos"] == "linspace"
    assert "--max_frames 2 overrides the checkpoint's 3" in (output / "log.txt").read_text()


def test_more_frames_than_the_temporal_encoders_positions_are_refused(synthetic, sampled_run, capsys):
    args = bare_eval_args(synthetic, synthetic["root"] / "too_many", sampled_run / "checkpoint_best.pt",
                          "--max_frames", "4")
    with pytest.raises(SystemExit) as exit_info:
        get_args(args)
    assert exit_info.value.code == 2
    assert "has positions for 3 frames" in capsys.readouterr().err


def test_a_model_flag_given_otherwise_is_still_refused(synthetic, sampled_run, capsys):
    args = bare_eval_args(synthetic, synthetic["root"] / "refused", sampled_run / "checkpoint_best.pt",
                          "--dllfa_fusion", "0.5")
    assert main_task_retrieval.main(args) == 2
    assert "--dllfa_fusion: 0.5 here, 0.3 in the checkpoint" in capsys.readouterr().err


def test_explicit_flags_counts_a_flag_given_with_its_default_value():
    argv = ["--do_eval", "--data_path", "a", "--features_path", "f", "--output_dir", "o", "--max_frames", "12",
            "--temporal_centering"]
    assert explicit_flags(build_parser(), argv) == {"do_eval", "data_path", "features_path", "output_dir",
                                                    "max_frames", "temporal_centering"}


def test_a_plain_state_dict_keeps_the_flags_as_given():
    parser = build_parser()
    args = parser.parse_args(["--do_eval", "--data_path", "a", "--features_path", "f", "--output_dir", "o"])
    assert adopt_checkpoint_flags(args, {}, set()) == {}
    assert args.max_frames == 12 and args.sim_header == "dllfa"


def test_eval_sh_needs_only_the_checkpoint_the_datatype_and_the_data(synthetic, sampled_run):
    """On the CPU on purpose (DEVICE=cpu), one process under torchrun, after the dataset check."""
    output = synthetic["root"] / "eval_sh"
    env = dict(os.environ, PYTHON=sys.executable, INIT_MODEL=str(sampled_run / "checkpoint_best.pt"),
               DATATYPE="msrvtt", DATA_ROOT=synthetic["annotations"], FRAMES=synthetic["frames"], DEVICE="cpu",
               GPUS_PER_NODE="1", OUTPUT_DIR=str(output), OMP_NUM_THREADS="1")
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", "eval.sh"), "--num_thread_reader", "0"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test          6            6        0         6" in result.stdout  # the dataset check's line
    assert evaluated_metrics(output) == json.loads((sampled_run / "metrics.json").read_text())
