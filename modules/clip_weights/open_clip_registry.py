"""open_clip's pretrained-weights registry and download helpers, wrapped once: the rest of the
repository calls these functions and never open_clip's `pretrained` module itself, whose helpers
(`_get_safe_alternatives` among them) are not a public API and may change between releases.

An architecture is named as `--pretrained_clip_name` takes it ("ViT-B/32" or "ViT-B-32"); the
registry's own name has dashes (`registry_name`).
"""
from typing import List, Optional

import open_clip
from open_clip.constants import HF_WEIGHTS_NAME, OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

# The file name of a Hub repository's weights when the registry names only the repository.
DEFAULT_HUB_FILE = HF_WEIGHTS_NAME
# The image normalisation of OpenAI's CLIP, which this repository's frames use: ((R, G, B) mean, std).
OPENAI_NORMALISATION = (tuple(OPENAI_DATASET_MEAN), tuple(OPENAI_DATASET_STD))


def registry_name(architecture: str) -> str:
    return architecture.replace("/", "-")


def pretrained_tags(architecture: str) -> List[str]:
    return open_clip.pretrained.list_pretrained_tags_by_model(registry_name(architecture))


def pretrained_config(architecture: str, tag: str) -> Optional[dict]:
    """open_clip's registry entry of `tag` for `architecture` (url, hf_hub, mean, std, quick_gelu,
    ...); None when it is not a tag of it."""
    return open_clip.pretrained.get_pretrained_cfg(registry_name(architecture), tag) or None


def normalisation(config: dict) -> tuple:
    """The ((mean), (std)) that the weights of a registry entry were trained with."""
    return (tuple(config.get("mean", OPENAI_DATASET_MEAN)), tuple(config.get("std", OPENAI_DATASET_STD)))


def hub_file_candidates(file_name: str) -> List[str]:
    """The names to look for in a Hub repository, in open_clip's order of preference: a
    .safetensors twin of `file_name` first, then the file itself."""
    return [*open_clip.pretrained._get_safe_alternatives(file_name), file_name]


def download_from_url(url: str, cache_dir: str) -> str:
    """open_clip's URL download into `cache_dir` (checks the SHA256 that OpenAI's and open_clip's
    release URLs carry, and downloads again over a file that fails it); the local path."""
    return open_clip.pretrained.download_pretrained_from_url(url, cache_dir=cache_dir)


def download_from_hub(repository: str, file_name: str, cache_dir: str) -> str:
    """open_clip's Hugging Face Hub download (verified, resumable) into `cache_dir`; the local path."""
    return open_clip.pretrained.download_pretrained_from_hf(repository, filename=file_name, cache_dir=cache_dir)
