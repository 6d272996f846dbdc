"""CLIP's BPE tokenizer with a short context (`max_words`), SOT/EOT and padding mask.

The vocabulary ships inside open_clip, so this works offline. Captions longer than
`max_words` are truncated with the EOT token kept as the last entry.
"""
from dataclasses import dataclass
from typing import Sequence

import torch
from open_clip.tokenizer import SimpleTokenizer

from modules.errors import InputError


@dataclass
class TokenBatch:
    tokens: torch.Tensor  # [B, L] int64, 0 = padding
    mask: torch.Tensor    # [B, L] bool, True for SOT, words and EOT


class CaptionTokenizer:
    def __init__(self, max_words: int = 32):
        if max_words < 3:
            raise InputError(f"max_words must be at least 3 (SOT, one word, EOT), got {max_words}")
        self.max_words = max_words
        self._bpe = SimpleTokenizer(context_length=max_words)
        self.sot_token_id = self._bpe.sot_token_id
        self.eot_token_id = self._bpe.eot_token_id

    def __call__(self, captions: Sequence[str]) -> TokenBatch:
        if isinstance(captions, str):
            captions = [captions]
        if len(captions) == 0:
            raise InputError("no captions to tokenize (empty caption list)")
        tokens = self._bpe(list(captions), context_length=self.max_words)  # [B, L]
        return TokenBatch(tokens=tokens, mask=tokens != 0)

    def decode_token(self, token_id: int) -> str:
        """The text of one token (for figures that label words)."""
        return self._bpe.decode([token_id]).strip()
