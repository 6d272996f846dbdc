"""open_clip's pretrained registry and a download server, as the tests need them without the network:
a loopback HTTP server (a thread) and tags registered for the tiny architecture."""
import hashlib
import http.server
import os
import shutil
import socket
import threading
from typing import Tuple

import open_clip

from tests.support.clip_files import save_torchscript_archive


class WeightsServer:
    """Serves `root` on 127.0.0.1 and counts the GET requests."""

    def __init__(self, root: str):
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=root, **kwargs)

            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.requests = []
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openai_style_url(root: str, port: int, activation: str = "quick_gelu", digest: str = None) -> Tuple[str, str]:
    """Put a tiny archive under `root` where an OpenAI-style URL (a SHA256 in its path, which open_clip
    checks: the archive's own, or `digest`) on 127.0.0.1:`port` finds it; return (URL, file)."""
    os.makedirs(root, exist_ok=True)
    staging = os.path.join(root, "staging.pt")
    save_torchscript_archive(staging, activation)
    with open(staging, "rb") as handle:
        digest = digest or hashlib.sha256(handle.read()).hexdigest()
    served = os.path.join(root, "openaipublic", "clip", "models", digest, "ViT-tiny.pt")
    os.makedirs(os.path.dirname(served), exist_ok=True)
    shutil.move(staging, served)
    return f"http://127.0.0.1:{port}/openaipublic/clip/models/{digest}/ViT-tiny.pt", served


def register_tiny_tags(monkeypatch, **tags) -> None:
    """Register pretrained tags for the `tiny` architecture: tag=dict(url=..., hf_hub=..., quick_gelu=...)."""
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, "tiny",
                        {tag: open_clip.pretrained._pcfg(**config) for tag, config in tags.items()})
