"""Token id 0 is padding and also "!" (the first entry of CLIP's vocabulary): masks are taken
by position (SOT .. EOT), so a "!" that BPE emits as its own token stays a word."""
import torch

from modules.tokenizer import CaptionTokenizer

# "!" before "(" or ";" is its own token, id 0, inside the caption
CAPTIONS = ["wow!( a cat jumps", "stop!; the dog sits", "a cat"]


def test_a_bang_token_has_id_0_and_stays_in_the_caption_mask():
    tokenizer = CaptionTokenizer(max_words=12)
    batch = tokenizer(CAPTIONS)
    eot = (batch.tokens == tokenizer.eot_token_id).int().argmax(-1)
    assert batch.tokens[0, 2] == 0 and batch.tokens[1, 2] == 0  # "wow" "!" / "stop" "!"
    assert [tokenizer.decode_token(int(batch.tokens[i, 2])) for i in range(2)] == ["!", "!"]
    positions = torch.arange(12)
    assert torch.equal(batch.mask, positions <= eot[:, None])


def test_the_word_mask_keeps_every_word_between_sot_and_eot(tiny_backbone):
    batch = CaptionTokenizer(max_words=12)(CAPTIONS)
    with torch.no_grad():
        _, _, word_mask = tiny_backbone.encode_text(batch.tokens)
    expected = batch.mask.clone()
    expected[:, 0] = False
    assert torch.equal(word_mask, expected)
    assert word_mask[0, 2] and word_mask[1, 2]  # the "!" tokens
    assert word_mask.sum(1).tolist() == [7, 7, 3]  # words + EOT: wow ! ( a cat jumps; stop ! ; the dog sits; a cat
