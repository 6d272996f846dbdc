import open_clip
import pytest
import torch
from torch import nn

from modules.clip_backbone import ClipBackbone, architecture_activation, clip_architecture_config, resolve_activation
from modules.errors import InputError
from modules.tokenizer import CaptionTokenizer
from tests.support.clip_files import save_torchscript_archive, tiny_clip

CAPTIONS = ["a red circle moves from left to right", "a small blue square grows", "a cat"]


def activation_modules(backbone):
    return {type(m).__name__ for m in backbone.modules() if isinstance(m, (nn.GELU, open_clip.model.QuickGELU))}


def test_quick_gelu_is_the_default_without_weights(tiny_backbone):
    assert tiny_backbone.activation == "quick_gelu" and activation_modules(tiny_backbone) == {"QuickGELU"}
    assert activation_modules(ClipBackbone("tiny", activation="gelu")) == {"GELU"}


def test_named_architecture_builds_with_the_activation_asked_for():
    config = clip_architecture_config("ViT-B/32", "gelu")
    assert not config["quick_gelu"] and config["vision_cfg"]["patch_size"] == 32 and config["embed_dim"] == 512
    assert clip_architecture_config("ViT-B/32")["quick_gelu"]
    assert architecture_activation("ViT-B-32-quickgelu") == "quick_gelu" and architecture_activation("ViT-B-32") is None
    with pytest.raises(InputError, match="the architecture name ViT-B-32-quickgelu says quick_gelu; "
                                         "--clip_activation says gelu"):
        resolve_activation("ViT-B-32-quickgelu", None, "gelu", None)


@pytest.mark.parametrize("name,reason", [("ViT-L-14-CLIPA", "another tokenizer"), ("ViT-B-16-SigLIP", "another library"),
                                         ("ViT-H-14-worldwide", "another tokenizer")])
def test_architectures_whose_text_tower_we_do_not_compute_are_refused(name, reason):
    with pytest.raises(InputError, match=f"{name}' has .*{reason}"):
        clip_architecture_config(name)


def test_gelu_and_quick_gelu_give_different_features_from_the_same_weights():
    tokens = CaptionTokenizer(32)(CAPTIONS).tokens
    video = torch.randint(0, 256, (1, 2, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    quick, gelu = tiny_clip("quick_gelu"), tiny_clip("gelu")
    assert all(torch.equal(a, b) for a, b in zip(quick.state_dict().values(), gelu.state_dict().values()))
    with torch.no_grad():
        assert (quick.encode_text(tokens)[0] - gelu.encode_text(tokens)[0]).abs().max() > 1e-2
        assert (quick.encode_frames(video, torch.ones(1, 2)) - gelu.encode_frames(video, torch.ones(1, 2))).abs().max() > 1e-2


def open_clip_features(model, pixels, tokens):
    with torch.no_grad():
        return model.encode_image(pixels), model.encode_text(tokens)


def our_features(backbone, pixels, tokens):
    with torch.no_grad():
        return backbone.encode_frames(pixels[:, None], torch.ones(len(pixels), 1))[:, 0], backbone.encode_text(tokens)[0]


@pytest.mark.parametrize("activation", ["gelu", "quick_gelu"])
def test_saved_open_clip_model_loads_to_open_clip_features(tmp_path, activation):
    """A checkpoint saved from open_clip's own model gives its encode_image / encode_text; with the
    other activation it would not."""
    torch.manual_seed(5)
    model = open_clip.model.CLIP(**clip_architecture_config("tiny", activation)).eval()
    torch.save(model.state_dict(), tmp_path / "open_clip.pt")
    pixels = torch.randn(3, 3, 32, 32)
    tokens = CaptionTokenizer(77)(CAPTIONS).tokens
    expected = open_clip_features(model, pixels, tokens)
    loaded = ClipBackbone("tiny", checkpoint=str(tmp_path / "open_clip.pt"), activation=activation).eval()
    for want, got in zip(expected, our_features(loaded, pixels, tokens)):
        assert (want - got).abs().max() <= 1e-5
    other = "quick_gelu" if activation == "gelu" else "gelu"
    wrong = ClipBackbone("tiny", checkpoint=str(tmp_path / "open_clip.pt"), activation=other).eval()
    assert (expected[1] - our_features(wrong, pixels, tokens)[1]).abs().max() > 1e-3


def test_openai_archive_computes_what_openai_weights_compute(tmp_path):
    """OpenAI's archive (fp16 weights) loads with QuickGELU, by itself, to the features of open_clip's
    QuickGELU CLIP (open_clip's reproduction of OpenAI's model) holding the same weights."""
    path = str(tmp_path / "ViT-openai.pt")
    save_torchscript_archive(path, "quick_gelu", openai_style=True)
    loaded = ClipBackbone("tiny", checkpoint=path).eval()
    assert loaded.activation == "quick_gelu"
    reference = open_clip.model.CLIP(**clip_architecture_config("tiny", "quick_gelu")).eval()
    reference.load_state_dict({k: v.half().float() for k, v in tiny_clip().clip.state_dict().items()})
    pixels = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    tokens = CaptionTokenizer(77)(CAPTIONS).tokens
    for want, got in zip(open_clip_features(reference, pixels, tokens), our_features(loaded, pixels, tokens)):
        assert (want - got).abs().max() <= 1e-5


def test_eot_row_of_words_is_the_sentence(tiny_backbone):
    batch = CaptionTokenizer(32)(CAPTIONS)
    sentence, words, word_mask = tiny_backbone.encode_text(batch.tokens)
    eot = batch.tokens.argmax(-1)
    for i in range(len(CAPTIONS)):
        assert torch.equal(words[i, eot[i]], sentence[i])
        expected_mask = batch.mask[i].clone()
        expected_mask[0] = False  # SOT is not a word
        assert torch.equal(word_mask[i], expected_mask)


def test_short_context_equals_prefix_of_full_context(tiny_backbone):
    short = CaptionTokenizer(32)(CAPTIONS).tokens
    full = CaptionTokenizer(77)(CAPTIONS).tokens
    with torch.no_grad():
        s32, w32, _ = tiny_backbone.encode_text(short)
        s77, w77, _ = tiny_backbone.encode_text(full)
    assert torch.allclose(w32, w77[:, :32], atol=1e-6)
    assert torch.allclose(s32, s77, atol=1e-6)


def test_padding_tokens_never_change_outputs(tiny_backbone):
    tokens = CaptionTokenizer(32)(CAPTIONS).tokens
    scrambled = tokens.clone()
    padding = scrambled == 0
    scrambled[padding] = torch.randint(1, 40000, (int(padding.sum()),))  # garbage after EOT
    with torch.no_grad():
        sentence, words, mask = tiny_backbone.encode_text(tokens)
        sentence2, words2, _ = tiny_backbone.encode_text(scrambled)
    assert torch.allclose(sentence, sentence2, atol=1e-6)
    assert torch.allclose(words[mask], words2[mask], atol=1e-6)


def test_frames_are_encoded_independently_and_padding_is_zero(tiny_backbone):
    torch.manual_seed(1)
    video = torch.randint(0, 256, (2, 4, 3, 32, 32), dtype=torch.uint8)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    with torch.no_grad():
        frames = tiny_backbone.encode_frames(video, mask)
        changed = video.clone()
        changed[0, 3] = 255 - changed[0, 3]  # a padded frame's pixels
        frames_changed = tiny_backbone.encode_frames(changed, mask)
        single = tiny_backbone.encode_frames(video[1:, 2:3], torch.ones(1, 1))
    assert frames.shape == (2, 4, 64)
    assert torch.equal(frames[0, 3], torch.zeros(64))
    assert torch.allclose(frames, frames_changed, atol=1e-6)
    assert torch.allclose(frames[1, 2], single[0, 0], atol=1e-5)


def test_uint8_frames_are_clip_normalised(tiny_backbone):
    video = torch.randint(0, 256, (1, 2, 3, 32, 32), dtype=torch.uint8)
    mean = torch.tensor(open_clip.OPENAI_DATASET_MEAN).view(3, 1, 1)
    std = torch.tensor(open_clip.OPENAI_DATASET_STD).view(3, 1, 1)
    normalised = (video.float() / 255 - mean) / std
    with torch.no_grad():
        a = tiny_backbone.encode_frames(video, torch.ones(1, 2))
        b = tiny_backbone.encode_frames(normalised, torch.ones(1, 2))
    assert torch.allclose(a, b, atol=1e-5)


def test_autocast_keeps_fp32_weights_and_outputs():
    torch.manual_seed(0)
    backbone = ClipBackbone("tiny", autocast_dtype=torch.bfloat16)
    tokens = CaptionTokenizer(32)(CAPTIONS).tokens
    sentence, words, _ = backbone.encode_text(tokens)
    assert sentence.dtype == torch.float32 and words.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in backbone.parameters())
    reference = ClipBackbone("tiny")
    reference.load_state_dict(backbone.state_dict())
    with torch.no_grad():
        assert torch.allclose(sentence, reference.encode_text(tokens)[0], atol=0.1)


def test_gradient_checkpointing_gives_same_gradients():
    tokens = CaptionTokenizer(32)(CAPTIONS).tokens
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        backbone = ClipBackbone("tiny", grad_checkpointing=checkpointing)
        backbone.encode_text(tokens)[0].square().sum().backward()
        grads.append(backbone.clip.token_embedding.weight.grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


def test_unknown_architecture_is_a_clear_error():
    with pytest.raises(InputError, match="unknown CLIP architecture 'ViT-Q-99'"):
        ClipBackbone("ViT-Q-99")
