import os
import random

import numpy as np
import pytest
import torch
from torch import nn

from driver import checkpoints
from driver.checkpoints import (CHECKPOINT_FORMAT, best_checkpoint, best_is_stale, best_record, load_checkpoint, load_model_weights,
                                   rng_state, save_checkpoint, set_rng_state, write_best_from_last)
from modules.errors import InputError


def test_rng_state_round_trip_reproduces_every_generator():
    state = rng_state()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_checkpoint_round_trip_is_weights_only(tmp_path):
    path = str(tmp_path / "ckpt.pt")
    model = nn.Linear(3, 2)
    save_checkpoint(path, {"model": model.state_dict(), "epoch": 3, "rng_states": [rng_state()],
                           "config": {"lr": 1e-4, "sim_header": "dllfa"}})
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 3 and loaded["config"]["sim_header"] == "dllfa"
    set_rng_state(loaded["rng_states"][0])
    other = nn.Linear(3, 2)
    load_model_weights(other, path)
    assert torch.equal(other.weight, model.weight)


class _RunsCodeWhenUnpickled:
    def __reduce__(self):
        return (os.getcwd, ())


def test_a_checkpoint_that_would_run_code_is_refused_naming_what_it_holds(tmp_path):
    path = tmp_path / "code.pt"
    torch.save({"model": {}, "payload": _RunsCodeWhenUnpickled()}, path)
    with pytest.raises(InputError, match=r"not a readable checkpoint \(UnpicklingError: .*getcwd") as refused:
        load_checkpoint(str(path))
    assert "\n" not in str(refused.value) and "Weights only load failed" not in str(refused.value)


def test_crash_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / "checkpoint_last.pt")
    save_checkpoint(path, {"epoch": 1})

    def crashing_save(obj, target):
        with open(target, "wb") as handle:
            handle.write(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(checkpoints.torch, "save", crashing_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint_last.pt"]


def test_missing_and_mismatched_init_model_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="checkpoint not found: .*nope.pt"):
        load_model_weights(nn.Linear(3, 2), str(tmp_path / "nope.pt"))
    path = str(tmp_path / "other.pt")
    save_checkpoint(path, {"model": nn.Linear(4, 2).state_dict()})
    with pytest.raises(InputError, match=r"weight \(checkpoint \(2, 4\) vs model \(2, 3\)\)"):
        load_model_weights(nn.Linear(3, 2), path)


def last_and_best(tmp_path, last_epoch, best_epoch, on_disk):
    """A last checkpoint recording `best_epoch` as the best, and a best checkpoint of epoch `on_disk` (None: none)."""
    best = best_record(best_epoch, 10.0 * best_epoch, "val", {"t2v": {"R1": 10.0 * best_epoch}})
    last = {"model": nn.Linear(3, 2).state_dict(), "epoch": last_epoch, "step": 4 * last_epoch, "steps_per_epoch": 4,
            "config": {"sim_header": "dllfa"}, "best": best}
    best_path = str(tmp_path / "checkpoint_best.pt")
    if on_disk is not None:
        save_checkpoint(best_path, best_checkpoint(nn.Linear(3, 2).state_dict(), {"sim_header": "dllfa"},
                                                   best_record(on_disk, 1.0, "val", {})))
    return last, best_path


@pytest.mark.parametrize("last_epoch,best_epoch,on_disk,stale", [
    (1, 1, None, True),   # killed between the two writes of the first epoch
    (3, 3, 2, True),      # ... of a later epoch that improved: checkpoint_best.pt still holds epoch 2
    (3, 2, 2, False),     # epoch 3 did not improve
    (3, 3, 3, False),     # both written
])
def test_a_best_checkpoint_is_stale_only_after_a_kill_between_the_two_writes(tmp_path, last_epoch, best_epoch,
                                                                             on_disk, stale):
    last, best_path = last_and_best(tmp_path, last_epoch, best_epoch, on_disk)
    assert best_is_stale(last, "checkpoint_last.pt", best_path) is stale
    if stale:
        write_best_from_last(last, best_path)
        written = load_checkpoint(best_path)
        assert written["epoch"] == best_epoch and written["score"] == 10.0 * best_epoch
        assert written["selection_split"] == "val" and written["report"] == last["best"]["report"]
        assert all(torch.equal(written["model"][k], last["model"][k]) for k in last["model"])
        assert not best_is_stale(last, "checkpoint_last.pt", best_path)


def test_a_best_checkpoint_that_no_kill_could_leave_is_an_error(tmp_path):
    last, best_path = last_and_best(tmp_path, last_epoch=3, best_epoch=2, on_disk=1)
    with pytest.raises(InputError, match="holds epoch 1, but checkpoint_last.pt records epoch 2 as the best"):
        best_is_stale(last, "checkpoint_last.pt", best_path)


@pytest.mark.parametrize("content", [{"model": {"w": torch.ones(1)}, "epoch": 1}, [1, 2],
                                     {"model": {"w": torch.ones(1)}, "checkpoint_format": CHECKPOINT_FORMAT + 1}])
def test_a_checkpoint_of_another_format_is_refused_in_one_line(tmp_path, content):
    path = tmp_path / "other.pt"
    torch.save(content, path)
    with pytest.raises(InputError, match=rf"^{path}: checkpoint format \S+, this code reads format {CHECKPOINT_FORMAT}: train it again, "
                       r"or give its model weights alone as a plain state dict to --init_model$"):
        load_checkpoint(str(path))


def test_a_plain_state_dict_loads_as_weights(tmp_path):
    model, other = nn.Linear(3, 2), nn.Linear(3, 2)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    load_model_weights(other, str(tmp_path / "weights.pt"))
    assert torch.equal(other.weight, model.weight)


@pytest.mark.parametrize("recorded", [None, "plain"])
def test_a_config_from_before_a_model_flag_existed_records_what_the_model_computed(tmp_path, recorded):
    """A config without --dllfa_token_frames was written when the token level read the encoded frames:
    eval-only and --resume take "temporal" from it whatever the default is."""
    config = {"sim_header": "dllfa"} if recorded is None else {"sim_header": "dllfa", "dllfa_token_frames": recorded}
    save_checkpoint(str(tmp_path / "ckpt.pt"), {"model": nn.Linear(3, 2).state_dict(), "config": config})
    assert load_checkpoint(str(tmp_path / "ckpt.pt"))["config"]["dllfa_token_frames"] == (recorded or "temporal")
    assert checkpoints.checkpoint_config(str(tmp_path / "ckpt.pt"))["dllfa_token_frames"] == (recorded or "temporal")
