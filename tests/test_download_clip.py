"""`python -m preprocess.download_clip`: fills the cache from a loopback server, or says what to do."""
import os

import pytest

from preprocess.download_clip import main
from tests.support.clip_registry import WeightsServer, openai_style_url, register_tiny_tags


@pytest.fixture
def server(tmp_path):
    running = WeightsServer(str(tmp_path / "served"))
    yield running
    running.stop()


def test_command_fills_the_cache_or_says_what_to_do(tmp_path, server, monkeypatch, capsys):
    url, _ = openai_style_url(str(tmp_path / "served"), server.port)
    register_tiny_tags(monkeypatch, openai=dict(url=url, quick_gelu=True))
    cache = str(tmp_path / "cache")
    assert main(["tiny", "openai", "--cache_dir", cache]) == 0
    assert capsys.readouterr().out == os.path.join(cache, "ViT-tiny.safetensors") + "\n"
    with pytest.raises(SystemExit) as exit_status:
        main(["tiny", "laion", "--cache_dir", cache])
    assert exit_status.value.code == 2
    assert "error: CLIP checkpoint not found: laion is no file, and not a pretrained tag of tiny (openai)" \
        in capsys.readouterr().err
    weights = os.path.join(cache, "ViT-tiny.safetensors")  # a file instead of a tag: printed as it is
    assert main(["tiny", weights]) == 0 and capsys.readouterr().out == weights + "\n"
