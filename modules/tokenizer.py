"""CLIP's BPE tokenizer with a short context (`max_words`), SOT/EOT and padding mask.

The vocabulary ships inside open_clip, so this works offline. Captions longer than
`max_words` are truncated with the EOT token kept as the last entry.

Masks are taken by position, never from the token ids: padding is id 0, but so is "!" (the
first entry of CLIP's vocabulary), which BPE emits as its own token before some punctuation
("wow!(", "stop!;"); `tokens != 0` would mask that word out.
"""
from dataclasses import dataclass
from typing import Sequence

import torch
from open_clip.tokenizer import SimpleTokenizer

from modules.errors import InputError


@dataclass
class TokenBatch:
    tokens: torch.Tensor  # [B, L] int64, 0 = padding (after EOT)
    mask: torch.Tensor    # [B, L] bool, True for SOT, words and EOT


def positions_through_eot(tokens: torch.Tensor) -> torch.Tensor:
    """tokens [B, L] -> [B, L] bool, True from position 0 (SOT) up to and including the EOT.
    EOT has the largest id in CLIP's vocabulary, so its position is the row's argmax."""
    eot_position = tokens.argmax(dim=-1, keepdim=True)  # [B, 1]
    return torch.arange(tokens.shape[1], device=tokens.device) <= eot_position


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
        return TokenBatch(tokens=tokens, mask=positions_through_eot(tokens))

    def decode_token(self, token_id: int) -> str:
        """The text of one token (for figures that label words)."""
        return self._bpe.decode([token_id]).strip()
