"""scripts/launch.sh: a machine without a usable CUDA device, a listed video without frames, or a
CLIP tag that cannot be downloaded, stops a launcher before torchrun with a short message and
exit status 2 (no torchrun failure report, no silent run on the CPU).

"Offline" without touching the network: every HTTPS request goes to a proxy on a closed loopback port."""
import os
import subprocess
import sys

import pytest
from tests.support.annotation_sets import write_frame_folder, write_msrvtt

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_an_offline_launcher_run_is_one_line_and_exit_status_2(tmp_path):
    offline = {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": "",
               "NO_PROXY": ""}
    env = dict(os.environ, **offline, PYTHON=sys.executable, XDG_CACHE_HOME=str(tmp_path / "cache"),
               DATA_ROOT=str(tmp_path), DEVICE="cpu", CHECK_DATASET="0", GPUS_PER_NODE="1", OUTPUT_DIR=str(tmp_path / "run"))
    env.pop("CLIP_CHECKPOINT", None)  # the launchers' default: the tag openai
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", "train_msrvtt_9k.sh")], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    expected_file = str(tmp_path / "cache" / "clip" / "ViT-B-32.pt")
    assert "https://openaipublic.azureedge.net/clip/models/" in lines[0] and expected_file in lines[0]
    assert not (tmp_path / "run").exists()  # torchrun never started


def test_without_a_usable_cuda_device_a_launcher_says_why_in_one_line(tmp_path):
    """This machine has no GPU: the default DEVICE=cuda stops before anything else runs."""
    env = dict(os.environ, PYTHON=sys.executable, DATA_ROOT=str(tmp_path), OUTPUT_DIR=str(tmp_path / "run"),
               CUDA_VISIBLE_DEVICES="")
    env.pop("DEVICE", None)
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", "train_msrvtt_9k.sh")], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stdout == "", result.stderr
    assert result.stderr.startswith("error: no usable CUDA device: no GPU visible (CUDA_VISIBLE_DEVICES='')")
    assert "built for CUDA" in result.stderr and "DEVICE=cpu" in result.stderr
    assert "torch.distributed.run" not in result.stderr and not (tmp_path / "run").exists()


def test_a_video_without_frames_stops_a_launcher_before_torchrun(tmp_path):
    write_msrvtt(str(tmp_path), 3, 1, 2)
    write_frame_folder(str(tmp_path / "frames"), [f"video{i}" for i in range(4)], {"video1"})
    env = dict(os.environ, PYTHON=sys.executable, DATA_ROOT=str(tmp_path), DEVICE="cpu", GPUS_PER_NODE="1",
               OUTPUT_DIR=str(tmp_path / "run"))
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", "train_msrvtt_9k.sh")], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "train         3            2        1         6" in result.stdout
    assert result.stderr.startswith("error: msrvtt 9k train: 1 of 3 videos have no frames in ")
    assert result.stderr.count("\n") == 1 and "video1 (" in result.stderr
    assert not (tmp_path / "run").exists()
