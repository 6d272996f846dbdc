import random

import numpy as np
import pytest
import torch
from torch import nn

from modules import checkpointing
from modules.checkpointing import (load_checkpoint, load_model_weights, rng_state, save_checkpoint,
                                   set_rng_state)
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


def test_crash_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / "checkpoint_last.pt")
    save_checkpoint(path, {"epoch": 1})

    def crashing_save(obj, target):
        with open(target, "wb") as handle:
            handle.write(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(checkpointing.torch, "save", crashing_save)
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
