"""The driver with CLIP weights from a pretrained tag: trains from a filled cache without the network,
records the activation, refuses an eval with another one, says in one line what to do offline;
under torchrun one process downloads."""
import json
import shutil
import threading
import types

import pytest
import torch

import main_task_retrieval
from driver import model_setup
from driver.checkpoints import load_checkpoint
from modules.clip_weights.download import fetch_pretrained
from tests.support.clip_files import tiny_clip
from tests.support.clip_registry import WeightsServer, closed_port, openai_style_url, register_tiny_tags
from tests.support.driver_runs import driver_args


def tag_run_args(synthetic, output_dir, *extra):
    return driver_args(synthetic, output_dir, "--batch_size", "11", "--epochs", "1", *extra)


@pytest.fixture
def offline_openai_tag(tmp_path, monkeypatch):
    """The tiny architecture's `openai` tag, on a URL nothing answers; returns the archive it names."""
    url, served = openai_style_url(str(tmp_path / "served"), closed_port())
    register_tiny_tags(monkeypatch, openai=dict(url=url, quick_gelu=True))
    return served


@pytest.mark.slow
def test_trains_from_a_tag_in_the_cache_and_eval_refuses_another_activation(synthetic, offline_openai_tag,
                                                                             tmp_path, capsys):
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(offline_openai_tag, cache / "ViT-tiny.pt")  # saved by hand: no network from here on
    output = tmp_path / "run"
    # --coef_lr 0: CLIP does not move, so the checkpoint shows which weights training started from
    assert main_task_retrieval.main(tag_run_args(synthetic, output, "--clip_checkpoint", "openai",
                                                "--cache_dir", str(cache), "--coef_lr", "0")) == 0
    assert json.loads((output / "config.json").read_text())["clip_activation"] == "quick_gelu"
    assert (cache / "ViT-tiny.safetensors").is_file()
    trained = load_checkpoint(str(output / "checkpoint_last.pt"))
    assert trained["config"]["clip_activation"] == "quick_gelu"
    for key, value in tiny_clip().clip.state_dict().items():
        assert torch.equal(trained["model"]["backbone.clip." + key], value), key

    args = tag_run_args(synthetic, tmp_path / "eval", "--init_model", str(output / "checkpoint_best.pt"),
                       "--clip_activation", "gelu")
    args[args.index("--do_train")] = "--do_eval"
    assert main_task_retrieval.main(args) == 2
    assert "--clip_activation: gelu here, quick_gelu in the checkpoint" in capsys.readouterr().err


def test_offline_without_the_file_is_one_line_and_exit_2(synthetic, offline_openai_tag, tmp_path, capsys):
    cache = tmp_path / "empty_cache"
    assert main_task_retrieval.main(tag_run_args(synthetic, tmp_path / "run", "--clip_checkpoint", "openai",
                                                "--cache_dir", str(cache))) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("error: cannot download the CLIP weights tiny 'openai'")
    assert f"save it as {cache / 'ViT-tiny.pt'}" in error


def test_a_file_that_records_no_activation_needs_the_flag(synthetic, tmp_path, capsys):
    path = tmp_path / "laion.bin"
    torch.save(tiny_clip("gelu").clip.state_dict(), path)
    with pytest.raises(SystemExit) as exit_status:
        main_task_retrieval.main(tag_run_args(synthetic, tmp_path / "run", "--clip_checkpoint", str(path)))
    assert exit_status.value.code == 2
    assert "laion.bin: the weights do not record their activation" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_under_torchrun_the_first_process_downloads_while_the_others_wait(tmp_path, monkeypatch):
    """Two processes of a node, as threads: the second fetches only after the first has the file."""
    server = WeightsServer(str(tmp_path / "served"))
    url, _ = openai_style_url(str(tmp_path / "served"), server.port)
    register_tiny_tags(monkeypatch, openai=dict(url=url, quick_gelu=True))
    events, barrier = [], threading.Barrier(2)

    def logged_fetch(*args):
        events.append(("start", threading.current_thread().name))
        path = fetch_pretrained(*args)
        events.append(("done", threading.current_thread().name))
        return path

    monkeypatch.setattr(model_setup, "fetch_pretrained", logged_fetch)
    monkeypatch.setattr(model_setup, "is_distributed", lambda: True)
    monkeypatch.setattr(model_setup.dist, "barrier", barrier.wait)
    args = types.SimpleNamespace(pretrained_clip_name="tiny", clip_checkpoint="openai", cache_dir=str(tmp_path / "cache"))
    paths = {}
    processes = [threading.Thread(name=name, target=lambda first=first, name=name: paths.update(
        {name: model_setup.clip_weights_file(args, first_on_node=first)})) for name, first in (("other", False),
                                                                                                 ("first", True))]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    server.stop()
    assert len(server.requests) == 1
    assert events == [("start", "first"), ("done", "first"), ("start", "other"), ("done", "other")]
    assert paths["first"] == paths["other"] == str(tmp_path / "cache" / "ViT-tiny.safetensors")
