"""DLLFA's token loss (modules/attention_head.py): what its extra score is, what it trains, where it applies."""
import pytest
import torch

from modules.contrastive_loss import symmetric_infonce
from modules.errors import InputError
from modules.retrieval_heads import build_head
from modules.tensor_ops import reverse_real_frames
from tests.support.head_inputs import random_inputs

DIM, FRAMES, WORDS, ATTENTION = 32, 6, 7, 8


def token_loss_head(seed: int = 0):
    """An order-fusion head with the token loss, in training mode, its gates and positions away from their start."""
    torch.manual_seed(seed)
    head = build_head("dllfa", DIM, FRAMES, temporal_layers=1, attention_dim=ATTENTION,
                      dllfa_token_loss=True).double().train()
    with torch.no_grad():
        head.temporal.positions.normal_()
        for gate in (head.fusion_gate, head.order_gate):
            gate[1].weight.normal_()
    return head


def training_scores(head, frames, video_mask, inputs):
    sentence, words, word_mask = inputs
    return head.training_similarities(head.text_side(sentence, words, word_mask), head.video_side(frames, video_mask))


def test_token_loss_scores_the_token_level_alone_on_what_a_reversal_keeps():
    """The second training score is the mean of the token level's scores (the fused score with lambda
    and mu := 0) of the video and of its reversal: the same for a video and its reversal, while the
    fused score reads order; the first is the head's similarity, which evaluation computes alone."""
    head = token_loss_head()
    sentence, words, word_mask, frames, video_mask = random_inputs(frames=FRAMES, words=WORDS, dim=DIM)
    inputs = (sentence, words, word_mask)
    with torch.no_grad():
        fused, order_free = training_scores(head, frames, video_mask, inputs)
        fused_back, order_free_back = training_scores(head, reverse_real_frames(frames, video_mask), video_mask, inputs)
        head.eval()
        evaluated = training_scores(head, frames, video_mask, inputs)
        head.train()
        head.frame_weight = head.order_weight = lambda sentence: torch.zeros(len(sentence), 1, dtype=sentence.dtype)
        token_alone = training_scores(head, frames, video_mask, inputs)[0]  # lambda = mu = 0: the token level alone
        token_alone_back = training_scores(head, reverse_real_frames(frames, video_mask), video_mask, inputs)[0]
    assert len(evaluated) == 1 and torch.allclose(evaluated[0], fused, atol=1e-12)
    assert torch.allclose(order_free, (token_alone + token_alone_back) / 2, atol=1e-12)
    assert torch.allclose(order_free, order_free_back, atol=1e-12)
    assert (fused - fused_back).abs().max() > 1e-3


def test_token_loss_trains_the_encoder_and_the_words_not_the_frame_level_or_the_gates():
    """The order-free score's InfoNCE reaches the temporal encoder (through the token level's video
    side and its reversal's), the token level and its word weights, and nothing of the frame level or
    the two gates, which it does not read."""
    head = token_loss_head()
    sentence, words, word_mask, frames, video_mask = random_inputs(n_texts=6, frames=FRAMES, words=WORDS, dim=DIM)
    order_free = training_scores(head, frames, video_mask, (sentence, words, word_mask))[1]
    symmetric_infonce(order_free, torch.tensor(100.0, dtype=torch.float64)).backward()

    def gradient(module):
        return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)

    for part in (head.temporal, head.token_level, head.word_weights):
        assert gradient(part) > 1e-8
    for part in (head.frame_level, head.fusion_gate, head.order_gate):
        assert gradient(part) == 0.0


@pytest.mark.parametrize("name,flags", [
    ("dllfa", dict(dllfa_order_fusion="shared")), ("dllfa", dict(dllfa_levels="token")),
    ("dllfa", dict(dllfa_levels="frame")), ("dllfa", dict(dllfa_temporal=False)),
    ("dllfa", dict(dllfa_token_frames="plain")), ("seqTransf", {}), ("xpool", {})])
def test_token_loss_without_order_fusion_is_an_input_error(name, flags):
    with pytest.raises(InputError, match="dllfa_token_loss"):
        build_head(name, DIM, FRAMES, dllfa_token_loss=True, **flags)


def test_heads_without_the_token_loss_train_on_their_similarity_alone():
    head = build_head("dllfa", DIM, FRAMES, temporal_layers=1, attention_dim=ATTENTION).double().train()
    sentence, words, word_mask, frames, video_mask = random_inputs(frames=FRAMES, words=WORDS, dim=DIM)
    assert len(training_scores(head, frames, video_mask, (sentence, words, word_mask))) == 1
