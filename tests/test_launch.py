"""scripts/launch.sh: a CLIP tag that cannot be downloaded stops a launcher before torchrun with
the one line of `python -m preprocess.download_clip` and exit status 2 (no torchrun failure report).

"Offline" without touching the network: every HTTPS request goes to a proxy on a closed loopback port."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_an_offline_launcher_run_is_one_line_and_exit_status_2(tmp_path):
    offline = {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": "",
               "NO_PROXY": ""}
    env = dict(os.environ, **offline, PYTHON=sys.executable, XDG_CACHE_HOME=str(tmp_path / "cache"),
               DATA_ROOT=str(tmp_path), GPUS_PER_NODE="1", OUTPUT_DIR=str(tmp_path / "run"))
    env.pop("CLIP_CHECKPOINT", None)  # the launchers' default: the tag openai
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", "train_msrvtt_9k.sh")], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    expected_file = str(tmp_path / "cache" / "clip" / "ViT-B-32.pt")
    assert "https://openaipublic.azureedge.net/clip/models/" in lines[0] and expected_file in lines[0]
    assert not (tmp_path / "run").exists()  # torchrun never started
