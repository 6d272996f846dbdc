"""open_clip's pretrained tags as CLIP weights: look-up, one download into a cache, loads from it.

`--clip_checkpoint openai` (or `laion2b_s34b_b79k`, ...: any tag open_clip lists for the
architecture, `pretrained_tags`) names weights in open_clip's registry (`open_clip/pretrained.py`,
reached only through `modules/clip_weights/open_clip_registry.py`): a URL and/or a Hugging Face Hub repository, the image normalisation,
and `quick_gelu` when they were trained with QuickGELU (GELU otherwise).

Where from, with open_clip's own download code: the registry's URL when it carries a checksum
(OpenAI's `openaipublic` URLs hold the file's SHA256, open_clip's GitHub releases a prefix of it;
`download_pretrained_from_url` checks it and downloads again over a file that fails it) or when
there is no Hub copy; otherwise the Hub (`download_pretrained_from_hf`: verified, resumable).

The cache (`--cache_dir`; default `$XDG_CACHE_HOME/clip`, i.e. `~/.cache/clip`, the folder where
open_clip, OpenAI's `clip` package and CLIP4Clip put OpenAI's files, so one already there is used):
- URL files: `<cache>/<file name of the URL>` (e.g. `ViT-B-32.pt`), open_clip's layout;
- Hub files: the Hub's layout under `<cache>`, or `<cache>/<repo>/<file>` when placed by hand;
- OpenAI's TorchScript archives are converted once (read as data, never run) to
  `<cache>/<name>.safetensors`, whose metadata records QuickGELU; later runs load only that.

Once: a lock file per weights file serialises the processes that share the cache (the ranks of
a node, several jobs); the second finds the file there. Offline, or on any download failure:
one line naming the URL and the path to save the file at by hand (InputError).

The command that fills the cache where there is a network is `python -m preprocess.download_clip`.
"""
import os
from dataclasses import dataclass
from typing import Optional, Tuple

from filelock import FileLock

from modules.clip_weights.files import ActivationRecord, convert_clip_checkpoint, recorded_activation
from modules.clip_weights.open_clip_registry import (DEFAULT_HUB_FILE, OPENAI_NORMALISATION, download_from_hub,
                                                     download_from_url, hub_file_candidates, normalisation,
                                                     pretrained_config, pretrained_tags, registry_name)
from modules.clip_weights.torchscript_archive import is_torchscript_archive
from modules.errors import InputError, error_summary

# Hosts whose URLs carry the file's checksum (the rule of open_clip's download_pretrained_from_url).
_CHECKSUM_HOSTS = ("openaipublic", "mlfoundations")


def default_cache_dir() -> str:
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "clip")


def _checked_config(architecture: str, tag: str) -> dict:
    config = pretrained_config(architecture, tag)
    if config is None:
        raise InputError(f"{tag!r} is not a pretrained tag of {architecture} (open_clip lists "
                         f"{', '.join(pretrained_tags(architecture)) or 'none'})")
    mean, std = normalisation(config)
    if (mean, std) != OPENAI_NORMALISATION:
        raise InputError(f"{architecture} {tag!r} was trained on images normalised with mean {mean} "
                         f"and std {std}; this repository normalises frames as OpenAI's CLIP does")
    return config


def tag_record(architecture: str, tag: str) -> ActivationRecord:
    config = _checked_config(architecture, tag)
    return ActivationRecord("quick_gelu" if config.get("quick_gelu") else "gelu",
                            f"open_clip's pretrained config of {registry_name(architecture)} {tag!r}")


def weights_record(architecture: str, checkpoint: Optional[str]) -> Optional[ActivationRecord]:
    """What `--clip_checkpoint` (a tag of `architecture`, or a file) records about its activation,
    without downloading or reading the weights; None without a checkpoint."""
    if checkpoint is None:
        return None
    if pretrained_config(architecture, checkpoint) is not None:
        return tag_record(architecture, checkpoint)
    if os.path.isfile(checkpoint):
        return recorded_activation(checkpoint)
    raise InputError(f"CLIP checkpoint not found: {checkpoint} is no file, and not a pretrained tag of "
                     f"{architecture} ({', '.join(pretrained_tags(architecture)) or 'open_clip lists none'})")


@dataclass
class _Source:
    url: str                           # what to download by hand
    by_hand: str                       # where to save it by hand
    hub: Optional[Tuple[str, str]]     # (repository, file name) on the Hub; None: the URL route


def _source(config: dict, cache_dir: str) -> _Source:
    url, hub = config.get("url", ""), config.get("hf_hub", "")
    if url and (any(host in url for host in _CHECKSUM_HOSTS) or not hub):
        return _Source(url, os.path.join(cache_dir, os.path.basename(url)), None)
    repository, file_name = os.path.split(hub)
    file_name = file_name or DEFAULT_HUB_FILE
    return _Source(f"https://huggingface.co/{repository}/resolve/main/{file_name}",
                   os.path.join(cache_dir, repository, file_name), (repository, file_name))


def _converted_path(archive: str) -> str:
    return os.path.splitext(archive)[0] + ".safetensors"


def _in_cache(source: _Source, cache_dir: str) -> Optional[str]:
    """A file ready to load without the network, or None (the URL route's own files are checked
    by open_clip's downloader, which needs no network when the file is there and whole)."""
    if source.hub is None:
        converted = _converted_path(source.by_hand)
        return converted if os.path.isfile(converted) and recorded_activation(converted).activation else None
    from huggingface_hub import try_to_load_from_cache
    repository, file_name = source.hub
    # open_clip's own preference: a .safetensors twin of the file first
    for name in hub_file_candidates(file_name):
        by_hand = os.path.join(cache_dir, repository, name)
        cached = try_to_load_from_cache(repository, name, cache_dir=cache_dir)
        for candidate in (by_hand, cached):
            if isinstance(candidate, str) and os.path.isfile(candidate):
                return candidate
    return None


def _download(source: _Source, cache_dir: str) -> str:
    if source.hub is None:
        return download_from_url(source.url, cache_dir)
    return download_from_hub(*source.hub, cache_dir)


def fetch_pretrained(architecture: str, tag: str, cache_dir: str) -> str:
    """The local file of `architecture`'s pretrained `tag`, downloaded (and converted, for OpenAI's
    archives) into `cache_dir` by the first process that asks; the others wait for it."""
    source = _source(_checked_config(architecture, tag), cache_dir)
    ready = _in_cache(source, cache_dir)
    if ready:
        return ready
    os.makedirs(cache_dir, exist_ok=True)
    lock_name = "." + (source.hub[0].replace("/", "--") if source.hub else os.path.basename(source.by_hand)) + ".lock"
    with FileLock(os.path.join(cache_dir, lock_name)):
        ready = _in_cache(source, cache_dir)
        if ready:
            return ready
        try:
            path = _download(source, cache_dir)
        except Exception as error:  # offline, refused, checksum: one line, and the way by hand
            reason = error_summary(error)[:200]
            raise InputError(f"cannot download the CLIP weights {registry_name(architecture)} {tag!r} ({reason}); "
                             f"download {source.url} by hand and save it as {source.by_hand}") from None
        if is_torchscript_archive(path):
            convert_clip_checkpoint(path, _converted_path(path))
            return _converted_path(path)
        return path

