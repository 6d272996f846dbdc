"""Pretrained tags: download once (loopback server), convert OpenAI's archives, load from the cache
offline, one-line error with the way by hand. No test reaches the network."""
import os
import shutil
import threading

import open_clip
import pytest
import torch

from modules.clip_backbone import ClipBackbone
from modules.clip_weights.download import default_cache_dir, fetch_pretrained, weights_record
from modules.clip_weights.files import recorded_activation
from modules.errors import InputError
from tests.support.clip_files import save_torchscript_archive, tiny_clip
from tests.support.clip_registry import WeightsServer, closed_port, openai_style_url, register_tiny_tags


@pytest.fixture
def server(tmp_path):
    running = WeightsServer(str(tmp_path / "served"))
    yield running
    running.stop()


def test_openai_tag_is_downloaded_once_converted_and_loaded_offline_afterwards(tmp_path, server, monkeypatch):
    url, _ = openai_style_url(str(tmp_path / "served"), server.port)
    register_tiny_tags(monkeypatch, openai=dict(url=url, hf_hub="timm/tiny.openai/", quick_gelu=True))
    cache = str(tmp_path / "cache")
    path = fetch_pretrained("tiny", "openai", cache)
    assert path == os.path.join(cache, "ViT-tiny.safetensors") and len(server.requests) == 1
    assert sorted(n for n in os.listdir(cache) if not n.startswith(".")) == ["ViT-tiny.pt", "ViT-tiny.safetensors"]
    assert recorded_activation(path).activation == "quick_gelu"
    server.stop()  # offline from here on
    assert fetch_pretrained("tiny", "openai", cache) == path
    loaded = ClipBackbone("tiny", checkpoint=path, activation="quick_gelu")
    for key, value in tiny_clip().clip.state_dict().items():
        assert torch.equal(loaded.clip.state_dict()[key], value), key


def test_processes_that_ask_at_once_download_once(tmp_path, server, monkeypatch):
    url, _ = openai_style_url(str(tmp_path / "served"), server.port)
    register_tiny_tags(monkeypatch, openai=dict(url=url, quick_gelu=True))
    cache, paths = str(tmp_path / "cache"), []
    workers = [threading.Thread(target=lambda: paths.append(fetch_pretrained("tiny", "openai", cache)))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(server.requests) == 1 and len(paths) == 3 and len(set(paths)) == 1


def test_offline_is_one_line_with_the_url_and_where_to_put_the_file(tmp_path, monkeypatch):
    url, served = openai_style_url(str(tmp_path / "served"), closed_port())
    register_tiny_tags(monkeypatch, openai=dict(url=url, quick_gelu=True))
    cache = str(tmp_path / "cache")
    with pytest.raises(InputError) as error:
        fetch_pretrained("tiny", "openai", cache)
    message = str(error.value)
    assert "\n" not in message and message.startswith("cannot download the CLIP weights tiny 'openai' (URLError")
    assert message.endswith(f"download {url} by hand and save it as {os.path.join(cache, 'ViT-tiny.pt')}")
    # what the message says to do works, offline
    os.makedirs(cache, exist_ok=True)
    shutil.copy(served, os.path.join(cache, "ViT-tiny.pt"))
    assert recorded_activation(fetch_pretrained("tiny", "openai", cache)).activation == "quick_gelu"


def test_a_file_that_fails_its_checksum_is_an_error(tmp_path, server, monkeypatch):
    url, _ = openai_style_url(str(tmp_path / "served"), server.port, digest="0" * 64)
    register_tiny_tags(monkeypatch, openai=dict(url=url, quick_gelu=True))
    with pytest.raises(InputError, match="checksum does not not match"):
        fetch_pretrained("tiny", "openai", str(tmp_path / "cache"))


def test_hub_tag_by_hand_and_through_the_hub(tmp_path, monkeypatch):
    """A Hub-only tag (most LAION / DataComp weights): GELU by its config; a file saved by hand where
    the message says is used offline; otherwise open_clip's Hub download runs once."""
    register_tiny_tags(monkeypatch, laion_test=dict(hf_hub="laion/tiny-laion/"))
    cache = str(tmp_path / "cache")
    assert weights_record("tiny", "laion_test").activation == "gelu"
    calls = []

    def offline_hub(repo_id, filename, **kwargs):
        calls.append((repo_id, filename))
        raise OSError("no network")

    monkeypatch.setattr(open_clip.pretrained, "hf_hub_download", offline_hub)
    by_hand = os.path.join(cache, "laion", "tiny-laion", "open_clip_pytorch_model.bin")
    with pytest.raises(InputError, match="download https://huggingface.co/laion/tiny-laion/resolve/main/"
                                         f"open_clip_pytorch_model.bin by hand and save it as {by_hand}$"):
        fetch_pretrained("tiny", "laion_test", cache)
    os.makedirs(os.path.dirname(by_hand))
    torch.save(tiny_clip("gelu").clip.state_dict(), by_hand)
    assert fetch_pretrained("tiny", "laion_test", cache) == by_hand
    # what the driver builds: the tag's activation, the cached file
    loaded = ClipBackbone("tiny", checkpoint=by_hand, activation=weights_record("tiny", "laion_test").activation)
    reference = tiny_clip("gelu")
    assert loaded.activation == "gelu"
    tokens = torch.tensor([[49406, 320, 1125, 49407]])
    with torch.no_grad():
        assert torch.allclose(loaded.encode_text(tokens)[0], reference.encode_text(tokens)[0], atol=1e-6)
    os.remove(by_hand)

    def hub(repo_id, filename, cache_dir, **kwargs):
        calls.append((repo_id, filename))
        path = os.path.join(cache_dir, "hub", filename)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        torch.save(tiny_clip("gelu").clip.state_dict(), path)
        return path

    calls.clear()
    monkeypatch.setattr(open_clip.pretrained, "hf_hub_download", hub)
    path = fetch_pretrained("tiny", "laion_test", cache)
    # open_clip asks for the .safetensors twin first, then the file itself
    assert calls == [("laion/tiny-laion", "open_clip_model.safetensors")] and path.endswith("open_clip_model.safetensors")


def test_weights_record_of_tags_and_files(tmp_path, monkeypatch):
    register_tiny_tags(monkeypatch, openai=dict(url="http://127.0.0.1:1/openaipublic/x/ViT-tiny.pt", quick_gelu=True),
                       squashed=dict(hf_hub="org/squashed/", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)))
    assert weights_record("tiny", None) is None
    record = weights_record("tiny", "openai")
    assert record.activation == "quick_gelu" and "open_clip's pretrained config of tiny 'openai'" in record.evidence
    assert weights_record("ViT-B/32", "laion2b_s34b_b79k").activation == "gelu"  # open_clip's own registry
    assert weights_record("ViT-B/32", "openai").activation == "quick_gelu"
    save_torchscript_archive(str(tmp_path / "ViT-tiny.pt"), "gelu")
    assert weights_record("tiny", str(tmp_path / "ViT-tiny.pt")).activation == "gelu"
    with pytest.raises(InputError, match="not found: laion9 is no file, and not a pretrained tag of ViT-B/32 "
                                         r"\(openai, laion400m_e31, "):
        weights_record("ViT-B/32", "laion9")
    with pytest.raises(InputError, match=r"normalised with mean \(0.5, 0.5, 0.5\)"):
        weights_record("tiny", "squashed")


def test_default_cache_is_xdg(monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", "/scratch/cache")
    assert default_cache_dir() == "/scratch/cache/clip"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == os.path.expanduser("~/.cache/clip")
