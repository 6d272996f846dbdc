import pytest

from modules.errors import InputError
from modules.tokenizer import CaptionTokenizer


def test_batch_has_sot_eot_and_padding_mask():
    tokenizer = CaptionTokenizer(max_words=12)
    batch = tokenizer(["a red circle moves left", "a cat"])
    assert batch.tokens.shape == (2, 12)
    for row, mask in zip(batch.tokens, batch.mask):
        length = int(mask.sum())
        assert row[0] == tokenizer.sot_token_id
        assert row[length - 1] == tokenizer.eot_token_id
        assert (row[length:] == 0).all() and mask[:length].all()


def test_truncation_keeps_eot():
    tokenizer = CaptionTokenizer(max_words=6)
    batch = tokenizer(["one two three four five six seven eight nine ten"])
    assert batch.mask.all()
    assert batch.tokens[0, -1] == tokenizer.eot_token_id
    assert batch.tokens[0, :5].tolist() == CaptionTokenizer(max_words=32)(["one two three four five six"]).tokens[0, :5].tolist()


def test_empty_caption_list_is_a_clear_error():
    with pytest.raises(InputError, match="empty caption list"):
        CaptionTokenizer()([])


def test_too_small_context_is_rejected():
    with pytest.raises(InputError, match="max_words"):
        CaptionTokenizer(max_words=2)


def test_tokens_decode_back_to_words():
    tokenizer = CaptionTokenizer()
    batch = tokenizer(["a red circle grows"])
    words = [tokenizer.decode_token(int(t)) for t in batch.tokens[0][1:int(batch.mask[0].sum()) - 1]]
    assert words == ["a", "red", "circle", "grows"]
