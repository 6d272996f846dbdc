"""scripts/demo_runs.py: a run folder loads as the model it trained."""
import json

import torch

from driver.checkpoints import save_checkpoint
from driver.flags import get_args
from driver.model_setup import build_model
from scripts.demo_runs import load_run_model


def test_a_run_from_before_a_model_flag_loads_the_model_it_trained(tmp_path):
    """A config.json without --dllfa_order_fusion comes from before order fusion: the report builds the shared
    fusion it trained (no order gate), not today's default, and its checkpoint loads."""
    args = get_args(["--do_eval", "--data_path", str(tmp_path), "--features_path", str(tmp_path), "--output_dir",
                     str(tmp_path), "--pretrained_clip_name", "tiny", "--dllfa_order_fusion", "shared"])
    model = build_model(args, torch.device("cpu"))
    config = {flag: value for flag, value in vars(args).items() if flag != "dllfa_order_fusion"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    save_checkpoint(str(tmp_path / "checkpoint_best.pt"), {"model": model.state_dict(), "config": config})
    loaded_args, loaded = load_run_model(str(tmp_path))
    assert loaded_args.dllfa_order_fusion == "shared" and loaded.head.order_gate is None
