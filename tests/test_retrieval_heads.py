import pytest
import torch

import modules.frame_attention_pooling as fap
from bench.naive_heads import naive_similarity
from modules.contrastive_loss import symmetric_infonce
from modules.errors import InputError
from modules.frame_attention_pooling import FrameAttentionPooling
from modules.retrieval_heads import HEAD_NAMES, build_head
from modules.tensor_ops import reverse_real_frames
from tests.support.head_inputs import random_inputs

DIM, FRAMES, WORDS, ATTENTION = 32, 6, 7, 8
CONFIGS = {
    "meanP": ("meanP", {}),
    "seqTransf": ("seqTransf", {}),
    "xpool": ("xpool", {}),
    "dllfa": ("dllfa", {}),
    "dllfa-frame": ("dllfa", {"dllfa_levels": "frame"}),
    "dllfa-token": ("dllfa", {"dllfa_levels": "token"}),
    "dllfa-no-temporal": ("dllfa", {"dllfa_temporal": False}),
    "dllfa-learned-fusion": ("dllfa", {"dllfa_fusion": "learned"}),
    "dllfa-caption-fusion": ("dllfa", {"dllfa_fusion": "caption"}),
    "dllfa-fusion-0.2": ("dllfa", {"dllfa_fusion": 0.2}),
    "dllfa-token-plain": ("dllfa", {"dllfa_token_frames": "plain"}),
    "dllfa-token-alone-plain": ("dllfa", {"dllfa_levels": "token", "dllfa_token_frames": "plain"}),
    "dllfa-shared-order": ("dllfa", {"dllfa_order_fusion": "shared"}),
}
ORDER_AWARE = {"seqTransf", "dllfa", "dllfa-frame", "dllfa-token", "dllfa-learned-fusion", "dllfa-caption-fusion",
               "dllfa-fusion-0.2", "dllfa-token-plain", "dllfa-shared-order"}


def make_head(config: str, dtype=torch.float64, seed=0):
    """A head whose scores depend visibly on every part: peaked attention, strong positions,
    value maps and LayerNorm gains well away from their initial values, learned fusion away from 0.5."""
    name, flags = CONFIGS[config]
    torch.manual_seed(seed)
    head = build_head(name, DIM, FRAMES, temporal_layers=2, attention_dim=ATTENTION, **flags).to(dtype)
    with torch.no_grad():
        for module in head.modules():
            if isinstance(module, FrameAttentionPooling):
                module.query.weight.mul_(5)  # logits spread ~5 (~1 at init)
                module.value.weight.add_(0.3 * torch.randn_like(module.value.weight))
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.uniform_(0.5, 1.5)
        if getattr(head, "temporal", None) is not None:
            head.temporal.positions.normal_()
        if getattr(head, "fusion_logit", None) is not None:
            head.fusion_logit.fill_(0.7)
        for gate in (getattr(head, "fusion_gate", None), getattr(head, "order_gate", None)):
            if gate is not None:
                gate[1].weight.normal_()  # lambda, mu ~ sigmoid(N(0, D)): far apart between captions
    return head


def fast_similarity(head, sentence, words, word_mask, frames, video_mask, memory_mb=1024.0):
    return head.similarity(head.text_side(sentence, words, word_mask), head.video_side(frames, video_mask),
                           memory_mb=memory_mb)


@pytest.fixture
def kernel_calls(monkeypatch):
    calls = []
    kernel = fap.pooled_scores

    def counting(*args, **kwargs):
        calls.append(1)
        return kernel(*args, **kwargs)

    monkeypatch.setattr(fap, "pooled_scores", counting)
    return calls


@pytest.mark.parametrize("config", CONFIGS)
def test_fast_path_equals_naive_oracle_in_every_chunking(config, kernel_calls):
    head = make_head(config)
    inputs = random_inputs(n_texts=5, n_videos=6, frames=FRAMES, words=WORDS, dim=DIM)
    with torch.no_grad():
        expected = naive_similarity(head, *inputs)
        for memory_mb in (1024.0, 0.003, 1e-6):
            kernel_calls.clear()
            assert torch.allclose(fast_similarity(head, *inputs, memory_mb=memory_mb), expected, atol=1e-10)
            if hasattr(head, "frame_level"):  # one kernel call per level (and reversal), unless the budget splits the work
                levels = ((head.frame_level is not None) + (head.token_level is not None)) * (1 + head.scores_reversal)
                assert (len(kernel_calls) > levels) == (memory_mb < 1)


@pytest.mark.parametrize("config", ["dllfa", "xpool", "seqTransf"])
def test_fp32_fast_path_is_within_1e5_of_fp64_oracle(config):
    head = make_head(config)
    inputs = random_inputs(n_texts=5, n_videos=6, frames=FRAMES, words=WORDS, dim=DIM)
    with torch.no_grad():
        expected = naive_similarity(head, *inputs)
        fast = fast_similarity(head.float(), *(x.float() if x.is_floating_point() else x for x in inputs))
    assert fast.dtype == torch.float32
    assert (fast.double() - expected).abs().max() <= 1e-5


@pytest.mark.parametrize("config", CONFIGS)
def test_padding_never_changes_a_score(config):
    head = make_head(config)
    sentence, words, word_mask, frames, video_mask = random_inputs(frames=FRAMES, words=WORDS, dim=DIM)
    garbage_words = torch.where(word_mask[..., None], words, 1e3 * torch.randn_like(words))
    garbage_words[-1, -1] = float("nan")
    garbage_frames = torch.where(video_mask[..., None], frames, 1e3 * torch.randn_like(frames))
    garbage_frames[tuple((~video_mask).nonzero()[0])] = float("nan")
    with torch.no_grad():
        clean = fast_similarity(head, sentence, words, word_mask, frames, video_mask)
        dirty = fast_similarity(head, sentence, garbage_words, word_mask, garbage_frames, video_mask.int())
    assert torch.allclose(clean, dirty, atol=1e-10)


@pytest.mark.parametrize("config", CONFIGS)
def test_only_order_aware_heads_see_a_frame_permutation(config):
    head = make_head(config)
    sentence, words, word_mask, frames, _ = random_inputs(frames=FRAMES, words=WORDS, dim=DIM)
    video_mask = torch.ones(frames.shape[:2], dtype=torch.bool)
    frames = torch.randn_like(frames)
    order = torch.randperm(FRAMES, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ordered = fast_similarity(head, sentence, words, word_mask, frames, video_mask)
        permuted = fast_similarity(head, sentence, words, word_mask, frames[:, order], video_mask)
    change = (ordered - permuted).abs().max()
    assert change > 1e-3 if config in ORDER_AWARE else change < 1e-12


@pytest.mark.parametrize("config", CONFIGS)
def test_gradients_reach_every_parameter_and_the_inputs(config):
    head = make_head(config)
    inputs = [x.requires_grad_(True) if x.is_floating_point() else x
              for x in random_inputs(n_texts=4, n_videos=4, frames=FRAMES, words=WORDS, dim=DIM)]
    sim = fast_similarity(head, *inputs)  # [B, B] training batch
    symmetric_infonce(sim, torch.tensor(100.0, dtype=sim.dtype)).backward()
    sentence, words, word_mask, frames, video_mask = inputs
    assert frames.grad[video_mask].abs().sum(-1).gt(0).all()
    if config not in ("dllfa-token", "dllfa-token-alone-plain"):  # no sentence-conditioned part
        assert sentence.grad.abs().sum() > 0
    if config not in ("meanP", "seqTransf", "xpool", "dllfa-frame"):
        assert words.grad[word_mask].abs().sum(-1).gt(0).all()
    for name, parameter in head.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("config", CONFIGS)
def test_fast_gradients_equal_oracle_gradients_for_parameters_and_inputs(config):
    """The inputs' gradients are what trains CLIP: every head's must equal the oracle's, padded rows included."""
    head = make_head(config)
    inputs = random_inputs(n_texts=4, n_videos=5, frames=FRAMES, words=WORDS, dim=DIM)
    weights = torch.randn(4, 5, dtype=torch.float64)

    def gradients(similarity):
        head.zero_grad()
        leaves = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
        (similarity(head, *leaves) * weights).sum().backward()
        grads = {name: p.grad.clone() for name, p in head.named_parameters()}
        sentence, words, _, frames, _ = leaves
        grads.update(sentence=sentence.grad, words=words.grad, frames=frames.grad)
        return grads

    fast, naive = gradients(fast_similarity), gradients(naive_similarity)
    assert fast.keys() == naive.keys()
    for name in naive:
        reached = naive[name] is not None
        assert reached == (fast[name] is not None), name
        assert not reached or torch.allclose(fast[name], naive[name], atol=1e-9), name
    assert naive["frames"] is not None and naive["frames"].abs().sum() > 0


@pytest.mark.parametrize("config", CONFIGS)
def test_scores_are_cosines_and_a_batch_of_one_has_a_finite_loss(config):
    head = make_head(config, dtype=torch.float32)
    inputs = random_inputs(n_texts=6, n_videos=6, frames=FRAMES, words=WORDS, dim=DIM, dtype=torch.float32)
    sentence, words, word_mask, frames, video_mask = inputs
    frames = frames.clone()
    frames[1] = frames[1, :1]  # a video of one repeated frame: v parallel to the frames
    sentence = sentence.clone()
    sentence[2] = frames[1, 0]  # a sentence equal to that frame: a cosine of (nearly) 1
    sim = fast_similarity(head, sentence, words, word_mask, frames, video_mask)
    assert sim.abs().max() <= 1
    one = fast_similarity(head, *(x[:1] for x in inputs))
    loss = symmetric_infonce(one, torch.tensor(100.0))
    assert one.shape == (1, 1) and torch.isfinite(loss) and loss.item() == 0


def test_heads_compute_in_fp32_under_autocast():
    head = make_head("dllfa", dtype=torch.float32)
    inputs = random_inputs(frames=FRAMES, words=WORDS, dim=DIM, dtype=torch.float32)
    with torch.no_grad():
        plain = fast_similarity(head, *inputs)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = fast_similarity(head, *inputs)
    assert mixed.dtype == torch.float32 and torch.allclose(plain, mixed, atol=1e-6)


def test_learned_fusion_starts_at_one_half():
    head = build_head("dllfa", DIM, FRAMES, dllfa_fusion="learned")
    assert head.frame_weight().item() == 0.5 and head.fusion_logit.requires_grad
    assert build_head("dllfa", DIM, FRAMES, dllfa_fusion=0.3).fusion_logit is None
    sentence = torch.randn(3, DIM)
    per_caption = build_head("dllfa", DIM, FRAMES, dllfa_fusion="caption")
    assert per_caption.frame_weight(sentence).tolist() == [[0.5]] * 3 and per_caption.fusion_logit is None


def test_per_caption_fusion_weight_follows_its_derivative():
    """The gradient of the loss with respect to the per-caption fusion gate is the loss's
    derivative along it (a central difference): the fusion weight is trained, not detached."""
    head = make_head("dllfa-caption-fusion")
    inputs = random_inputs(n_texts=4, n_videos=4, frames=FRAMES, words=WORDS, dim=DIM)
    scale = torch.tensor(100.0, dtype=torch.float64)
    gate = head.fusion_gate[1].weight

    def loss():
        return symmetric_infonce(fast_similarity(head, *inputs), scale)

    loss().backward()
    direction = torch.randn_like(gate)
    with torch.no_grad():
        gate.add_(1e-6 * direction)
        ahead = loss()
        gate.sub_(2e-6 * direction)
        behind = loss()
    assert gate.grad.abs().sum() > 0
    assert torch.isclose((ahead - behind) / 2e-6, (gate.grad * direction).sum(), rtol=1e-5)


def test_head_names_and_ablation_structure():
    assert HEAD_NAMES == ("meanP", "seqTransf", "xpool", "dllfa")
    xpool = build_head("xpool", DIM, FRAMES)
    assert xpool.temporal is None and xpool.token_level is None and not xpool.frame_level.residual
    frame_only = build_head("dllfa", DIM, FRAMES, dllfa_levels="frame", dllfa_temporal=False)
    assert frame_only.temporal is None and frame_only.token_level is None and frame_only.word_weights is None
    assert frame_only.frame_level.residual and frame_only.frame_weight() == 1.0
    token_only = build_head("dllfa", DIM, FRAMES, dllfa_levels="token")
    assert token_only.frame_level is None and token_only.frame_weight() == 0.0
    assert token_only.temporal is not None and not token_only.keeps_plain_frames
    # on plain frames the token level alone reads no encoder, and none is built
    assert build_head("dllfa", DIM, FRAMES, dllfa_levels="token", dllfa_token_frames="plain").temporal is None
    plain = build_head("dllfa", DIM, FRAMES, dllfa_token_frames="plain")
    assert plain.keeps_plain_frames and plain.frame_side_width(DIM) == 2 * DIM
    assert not build_head("dllfa", DIM, FRAMES, dllfa_token_frames="plain", dllfa_temporal=False).keeps_plain_frames
    order = build_head("dllfa", DIM, FRAMES)  # order fusion by default
    assert order.scores_reversal and order.frame_side_width(DIM) == 2 * DIM
    assert order.order_weight(torch.randn(3, DIM)).tolist() == [[0.5]] * 3
    shared = build_head("dllfa", DIM, FRAMES, dllfa_order_fusion="shared")
    assert shared.order_gate is None and shared.frame_side_width(DIM) == DIM
    # where no two levels read order, the default order fusion is the shared score: no reversal, no order gate
    for flags in (dict(dllfa_levels="frame"), dict(dllfa_levels="token"), dict(dllfa_temporal=False),
                  dict(dllfa_token_frames="plain")):
        head = build_head("dllfa", DIM, FRAMES, **flags)
        assert not head.scores_reversal and head.order_gate is None, flags
    assert not build_head("seqTransf", DIM, FRAMES).scores_reversal


def test_order_fusion_weighs_what_a_reversal_keeps_by_lambda_and_what_it_flips_by_mu():
    """s(v) + s(v reversed) is the levels' symmetric parts fused by lambda and s(v) - s(v reversed)
    their antisymmetric parts fused by mu: the first moves with the fusion gate alone, the second
    with the order gate alone; with mu = lambda the score is the shared fusion's."""
    head = make_head("dllfa")
    sentence, words, word_mask, frames, video_mask = random_inputs(frames=FRAMES, words=WORDS, dim=DIM)
    backwards = reverse_real_frames(frames, video_mask)

    def kept_and_flipped():
        with torch.no_grad():
            forward = fast_similarity(head, sentence, words, word_mask, frames, video_mask)
            reversed_ = fast_similarity(head, sentence, words, word_mask, backwards, video_mask)
        return forward + reversed_, forward - reversed_

    kept, flipped = kept_and_flipped()
    with torch.no_grad():
        head.order_gate[1].weight.normal_()
    kept_new_mu, flipped_new_mu = kept_and_flipped()
    assert torch.allclose(kept_new_mu, kept, atol=1e-12) and (flipped_new_mu - flipped).abs().max() > 1e-3
    with torch.no_grad():
        head.fusion_gate[1].weight.normal_()
    kept_new_lambda, flipped_new_lambda = kept_and_flipped()
    assert torch.allclose(flipped_new_lambda, flipped_new_mu, atol=1e-12)
    assert (kept_new_lambda - kept_new_mu).abs().max() > 1e-3
    shared = make_head("dllfa-shared-order")
    with torch.no_grad():
        head.order_gate.load_state_dict(head.fusion_gate.state_dict())
        shared.load_state_dict({k: v for k, v in head.state_dict().items() if not k.startswith("order_gate")})
        inputs = (sentence, words, word_mask, frames, video_mask)
        assert torch.allclose(fast_similarity(head, *inputs), fast_similarity(shared, *inputs), atol=1e-12)


@pytest.mark.parametrize("token_frames", ["plain", "temporal"])
def test_token_level_on_plain_frames_scores_a_video_and_its_reversal_alike(token_frames):
    """Frame weight 0 (the token level alone, beside a frame level): on the plain frames a reversed
    video scores as the original, on the encoded ones it does not; with weight 1 both read order."""
    sentence, words, word_mask, frames, _ = random_inputs(frames=FRAMES, words=WORDS, dim=DIM)
    video_mask = torch.ones(frames.shape[:2], dtype=torch.bool)
    change = {}
    for weight in (0.0, 1.0):
        torch.manual_seed(0)
        head = build_head("dllfa", DIM, FRAMES, temporal_layers=2, attention_dim=ATTENTION, dllfa_fusion=weight,
                          dllfa_token_frames=token_frames).double()
        with torch.no_grad():
            head.temporal.positions.normal_()
            forward = fast_similarity(head, sentence, words, word_mask, frames, video_mask)
            reversed_ = fast_similarity(head, sentence, words, word_mask, frames.flip(1), video_mask)
        change[weight] = (forward - reversed_).abs().max()
    assert change[1.0] > 1e-3
    assert change[0.0] < 1e-12 if token_frames == "plain" else change[0.0] > 1e-3


@pytest.mark.parametrize("kwargs,message", [
    (dict(name="meanp"), "unknown head"), (dict(name="dllfa", dllfa_levels="word"), "unknown DLLFA levels"),
    (dict(name="dllfa", dllfa_fusion=1.5), "fusion weight"), (dict(name="dllfa", dllfa_token_frames="raw"), "token frames"), (dict(name="dllfa", dllfa_fusion="mean"), "fusion"), (dict(name="seqTransf", temporal_layers=0), "layer"),
    (dict(name="dllfa", dllfa_order_fusion="words"), "unknown DLLFA order fusion")])
def test_bad_configuration_is_an_input_error(kwargs, message):
    with pytest.raises(InputError, match=message):
        build_head(embed_dim=DIM, max_frames=FRAMES, **kwargs)


@pytest.mark.parametrize("config", ["seqTransf", "dllfa"])
def test_heads_compute_in_full_fp32_under_a_tf32_setting(config):
    """The global setting (TF32 on a GPU) holds for the temporal encoder; the head's own products
    (text side, pooling, scores) run with TF32 off, and the setting is restored after."""
    head = make_head(config)
    seen = {}

    def recording(name, method):
        def record(*args, **kwargs):
            seen[name] = torch.backends.cuda.matmul.fp32_precision
            return method(*args, **kwargs)
        return record

    for name in ("encode_text", "encode_video", "score"):
        setattr(head, name, recording(name, getattr(head, name)))
    head.temporal.forward = recording("temporal", head.temporal.forward)
    matmul = torch.backends.cuda.matmul
    saved, matmul.fp32_precision = matmul.fp32_precision, "tf32"
    try:
        fast_similarity(head, *random_inputs(n_texts=2, n_videos=3, frames=FRAMES, words=WORDS, dim=DIM))
        assert matmul.fp32_precision == "tf32"
    finally:
        matmul.fp32_precision = saved
    assert seen == {"temporal": "tf32", "encode_text": "ieee", "encode_video": "ieee", "score": "ieee"}
