"""The start of a run in its --output_dir (driver/output_dir.py): a finished run is never
overwritten by a repeated command, --overwrite_output_dir starts afresh, and --resume follows
the run's own plan or is refused with every differing flag named."""
import json
import os
import shutil

import pytest

import main_task_retrieval
from driver.checkpoints import load_checkpoint
from tests.support.driver_runs import driver_args, eval_args, evaluated_metrics, read_jsonl, trained_run

pytestmark = pytest.mark.slow  # every test runs the driver end to end


@pytest.fixture(scope="module")
def finished_run(synthetic):
    return trained_run(synthetic, "finished", "--epochs", "1", "--batch_size", "8")


def snapshot(folder):
    return {os.path.relpath(os.path.join(root, name), folder): open(os.path.join(root, name), "rb").read()
            for root, _, names in os.walk(folder) for name in names}


def copy_of(run, target):
    shutil.copytree(run, target)
    return target


def test_a_repeated_command_or_an_eval_into_a_finished_run_is_refused_and_changes_nothing(
        synthetic, finished_run, capsys):
    before = snapshot(finished_run)
    assert main_task_retrieval.main(driver_args(synthetic, finished_run, "--epochs", "1", "--batch_size", "8")) == 2
    error = capsys.readouterr().err
    assert f"{finished_run} holds a run (checkpoint_last.pt, checkpoint_best.pt, metrics.json" in error
    assert "--resume" in error and "--overwrite_output_dir" in error and len(error.strip().splitlines()) == 1
    assert main_task_retrieval.main(eval_args(synthetic, finished_run, "--init_model",
                                              str(finished_run / "checkpoint_best.pt"))) == 2
    assert "holds a run" in capsys.readouterr().err
    assert snapshot(finished_run) == before


def test_an_eval_output_is_kept_and_overwrite_output_dir_starts_afresh(synthetic, finished_run, capsys):
    output = finished_run / "eval_msrvtt"  # where scripts/eval.sh writes
    args = eval_args(synthetic, output, "--init_model", str(finished_run / "checkpoint_best.pt"))
    assert main_task_retrieval.main(args) == 0
    (output / "metrics.json").write_text("{}")  # stands for the results of an earlier evaluation
    (output / "notes.txt").write_text("mine")
    assert main_task_retrieval.main(args) == 2
    assert (output / "metrics.json").read_text() == "{}"
    assert main_task_retrieval.main(args + ["--overwrite_output_dir"]) == 0
    assert evaluated_metrics(output) == json.loads((finished_run / "metrics.json").read_text())
    assert (output / "notes.txt").read_text() == "mine"  # only what a run writes is removed
    log = (output / "log.txt").read_text()
    assert log.count("evaluating ") == 1 and "removed the earlier run's files" in log


def test_overwrite_output_dir_never_removes_the_model_it_is_asked_to_evaluate(synthetic, finished_run, capsys):
    output = copy_of(finished_run, synthetic["root"] / "self_eval")
    before = snapshot(output)
    args = eval_args(synthetic, output, "--init_model", str(output / "checkpoint_best.pt"), "--overwrite_output_dir")
    assert main_task_retrieval.main(args) == 2
    assert "--overwrite_output_dir would remove --init_model" in capsys.readouterr().err
    assert snapshot(output) == before


def test_overwrite_output_dir_replaces_a_training_run(synthetic, finished_run):
    output = copy_of(finished_run, synthetic["root"] / "overwritten")
    assert main_task_retrieval.main(driver_args(synthetic, output, "--epochs", "1", "--batch_size", "8",
                                                "--overwrite_output_dir")) == 0
    assert read_jsonl(output, "train_steps.jsonl") == read_jsonl(finished_run, "train_steps.jsonl")
    assert read_jsonl(output, "metrics_history.jsonl") == read_jsonl(finished_run, "metrics_history.jsonl")
    assert len(os.listdir(output / "tensorboard")) == 1


def test_leftovers_of_a_start_that_saved_no_results_do_not_block_a_new_run(synthetic, finished_run):
    output = synthetic["root"] / "failed_start"
    output.mkdir()
    (output / "config.json").write_text("{}")
    (output / "log.txt").write_text("error: the annotation file was malformed\n")
    args = eval_args(synthetic, output, "--init_model", str(finished_run / "checkpoint_best.pt"))
    assert main_task_retrieval.main(args) == 0
    assert "malformed" not in (output / "log.txt").read_text()
    assert json.loads((output / "config.json").read_text())["do_eval"] is True


def test_resume_with_another_plan_is_refused_naming_every_differing_flag(synthetic, finished_run, capsys):
    output = copy_of(finished_run, synthetic["root"] / "replanned")
    before = snapshot(output)
    args = driver_args(synthetic, output, "--epochs", "3", "--batch_size", "4", "--resume", "--lr", "2e-3",
                       "--sim_header", "meanP")
    assert main_task_retrieval.main(args) == 2
    error = capsys.readouterr().err
    assert f"{output / 'checkpoint_last.pt'}: --resume with another plan than the run's" in error
    assert "--init_model" in error
    differing = sorted(line.strip() for line in error.splitlines()[1:])
    assert differing == ["--batch_size: 4 here, 8 in the checkpoint", "--epochs: 3 here, 1 in the checkpoint",
                         "--lr: 0.002 here, 0.001 in the checkpoint", "--sim_header: meanP here, dllfa in the checkpoint"]
    assert snapshot(output) == before  # config.json still says what the run did


def test_resume_with_flags_that_do_not_change_the_plan_goes_on(synthetic, finished_run):
    output = copy_of(finished_run, synthetic["root"] / "rerun_eval")
    args = driver_args(synthetic, output, "--epochs", "1", "--batch_size", "8", "--resume", "--batch_size_val", "2",
                       "--n_display", "1", "--dual_softmax", "--cache_dir", str(synthetic["root"] / "moved_cache"))
    assert main_task_retrieval.main(args) == 0  # a finished run: only the final evaluation again
    metrics = json.loads((output / "metrics.json").read_text())
    assert "dual_softmax" in metrics
    assert {k: v for k, v in metrics.items() if k != "dual_softmax"} == json.loads((finished_run / "metrics.json").read_text())
    config = json.loads((output / "config.json").read_text())
    assert config["resume"] is True and config["batch_size_val"] == 2 and config["dual_softmax"] is True
    assert "--batch_size_val: 2 here, 4 in the checkpoint" in (output / "log.txt").read_text()


def test_resume_on_data_with_another_number_of_steps_is_refused(synthetic, finished_run, capsys):
    output = copy_of(finished_run, synthetic["root"] / "other_data")
    annotations = shutil.copytree(synthetic["annotations"], synthetic["root"] / "fewer_annotations")
    train_list = annotations / "MSRVTT_train.9k.csv"
    train_list.write_text("".join(train_list.read_text().splitlines(keepends=True)[:13]))  # 12 of the 22 videos
    args = driver_args(synthetic, output, "--epochs", "1", "--batch_size", "8", "--resume")
    args[args.index("--data_path") + 1] = str(annotations)
    config = (output / "config.json").read_text()
    assert main_task_retrieval.main(args) == 2
    assert ("the training data gives 1 steps per epoch here, 2 when the run started" in capsys.readouterr().err)
    assert load_checkpoint(str(output / "checkpoint_last.pt"))["step"] == 2
    assert (output / "config.json").read_text() == config


@pytest.mark.parametrize("extra,files,message", [
    (["--resume", "--overwrite_output_dir"], [], "--resume and --overwrite_output_dir contradict each other"),
    (["--resume"], [], "--resume: no checkpoint_last.pt in "),
    (["--resume"], ["config.json", "train_steps.jsonl"], "the run stopped before its first checkpoint: start it again "
                                                         "with --overwrite_output_dir"),
])
def test_resume_needs_a_checkpoint_and_no_overwrite(synthetic, tmp_path, capsys, extra, files, message):
    for name in files:
        (tmp_path / name).write_text("{}\n")
    assert main_task_retrieval.main(driver_args(synthetic, tmp_path, *extra)) == 2
    assert message in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == sorted(files)


def test_resume_of_an_evaluation_is_an_error(synthetic, tmp_path, capsys):
    assert main_task_retrieval.main(eval_args(synthetic, tmp_path, "--resume")) == 2
    assert "--resume continues a training run: it needs --do_train" in capsys.readouterr().err
