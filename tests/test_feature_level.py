"""bench/feature_level: the generator plants what it says, order-free heads cannot see order,
the probes measure what they say, and a tiny run of the command writes its results."""
import json
import os

import pytest
import torch

from bench.feature_level.__main__ import main
from bench.feature_level.generator import KINDS, SampleMaker, World, unit
from bench.feature_level.probes import attention_stats, uniform_attention
from bench.feature_level.training import batch_kinds
from bench.feature_level.variants import make_head, plain_attention

BATCH = ["one_segment"] * 6 + ["multi_segment"] * 6 + ["order"] * 4


@pytest.fixture(scope="module")
def world():
    return World(0)


@pytest.fixture(scope="module")
def batch(world):
    return SampleMaker(world, 5).batch(BATCH)


def test_same_seeds_give_the_same_samples_and_other_seeds_others(world, batch):
    again = SampleMaker(World(0), 5).batch(BATCH)
    assert all(torch.equal(a, b) for a, b in zip(batch, again))
    other = SampleMaker(world, 6).batch(BATCH)
    assert not torch.equal(batch.frames, other.frames)


def test_order_twins_are_the_reversed_video_with_the_other_order(batch):
    twins = (batch.twin >= 0).nonzero()[:, 0]
    assert len(twins) == 2 * BATCH.count("order")
    for i in twins.tolist():
        j = int(batch.twin[i])
        assert int(batch.twin[j]) == i
        assert torch.equal(batch.frames[j], batch.frames[i].flip(0))
        assert torch.equal(batch.segment[j], batch.segment[i].flip(0))
        assert torch.equal(batch.described[j], batch.described[i].flip(0))
        order = batch.segment[i][batch.described[i]].unique_consecutive()  # described segments in time order
        assert len(order) == 2
    assert (batch.twin[torch.tensor([KINDS[k] != "order" for k in batch.kind.tolist()])] == -1).all()


def test_captions_describe_their_segments_and_each_content_word_one_segment(batch):
    for i, kind in enumerate(KINDS[k] for k in batch.kind.tolist()):
        described = batch.segment[i][batch.described[i]].unique()
        assert len(described) == 1 if kind == "one_segment" else 2 <= len(described) <= 3
        content = batch.word_segment[i].any(-1)  # [L]
        assert content.sum() == 2 * len(described)  # a noun and a verb per described event
        for row in content.nonzero()[:, 0].tolist():
            own = batch.segment[i][batch.word_segment[i, row]].unique()
            assert len(own) == 1 and own.item() in described.tolist()
            assert batch.word_segment[i, row].sum() == (batch.segment[i] == own).sum()
        eot = int(batch.word_mask[i].sum()) - 1
        assert torch.equal(batch.words[i, eot], batch.sentence[i]) and not batch.word_mask[i, eot + 1:].any()


def test_features_have_clip_like_statistics(batch):
    frames = unit(batch.frames)
    within = torch.einsum("ntd,nsd->nts", frames, frames)[:, ~torch.eye(12, dtype=torch.bool)].mean()
    assert 0.85 <= within <= 0.9
    own = torch.einsum("nd,ntd->nt", batch.sentence, frames)[batch.described].mean()
    assert 0.25 <= own <= 0.35
    assert 0.5 < batch.frames.norm(dim=-1).mean() / 512 ** 0.5 < 1  # CLIP's raw scale, not unit-norm


@pytest.mark.parametrize("name", ["meanP", "xpool", "dllfa --dllfa_no_temporal"])
def test_order_free_heads_score_a_video_and_its_twin_alike(batch, name):
    head = make_head(name, 1, 0).eval()
    with torch.no_grad():
        sim = head.similarity(head.text_side(batch.sentence, batch.words, batch.word_mask),
                              head.video_side(batch.frames, batch.video_mask))
    twins = (batch.twin >= 0).nonzero()[:, 0]
    assert torch.allclose(sim[:, twins], sim[:, batch.twin[twins]], atol=1e-5)


def test_training_batches_hold_every_kind_and_the_twins():
    assert len(batch_kinds(64)) == 54 and batch_kinds(64).count("order") == 10  # 64 rows with the twins
    assert batch_kinds(8).count("order") == 1 and len(batch_kinds(8)) + 1 == 8


def test_uniform_attention_and_the_formulation_before_the_fix_as_measured(batch):
    head = make_head("dllfa --dllfa_no_temporal", 1, 0).eval()
    with torch.no_grad():
        fixed, uniform = attention_stats(head, batch), attention_stats(uniform_attention(head), batch)
        before = attention_stats(plain_attention(make_head("dllfa --dllfa_no_temporal", 1, 0)).eval(), batch)
    for level in ("sentence", "words"):
        assert uniform[level]["spread"] == 0 and uniform[level]["mass"] == pytest.approx(uniform[level]["uniform"])
        assert before[level]["spread"] < 0.01  # logits ~1e-3 apart at D=512
        assert fixed[level]["spread"] > 0.1 and fixed[level]["mass"] > fixed[level]["uniform"]


def test_a_tiny_run_writes_json_and_markdown(tmp_path, capsys):
    output = tmp_path / "results"
    assert main(["--heads", "meanP,xpool", "--steps", "1", "--batch_size", "8", "--pool", "4", "--split", "val",
                 "--seeds", "3,5", "--pools", "1", "--output", str(output)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert list(results["heads"]) == ["meanP", "xpool"] and len(results["fix_variants"]) == 5
    assert results["config"]["seeds"] == [3, 5] and results["fix_variants_seed"] == 3
    per_seed = results["heads"]["xpool"]["per_seed"]
    r1 = [per_seed[seed]["one_segment"]["retrieval"]["R1"] for seed in ("3", "5")]
    combined = results["heads"]["xpool"]["trained"]["one_segment"]["retrieval"]
    assert combined["R1"] == pytest.approx(sum(r1) / 2)
    assert combined["R1_std"] == pytest.approx(abs(r1[0] - r1[1]) / 2 ** 0.5)
    assert results["heads"]["meanP"]["loss"] == {} and results["heads"]["xpool"]["loss"]["first"] > 0
    trained = results["heads"]["xpool"]["trained"]
    assert set(trained) == set(KINDS) and "uniform_attention" in trained["one_segment"]
    assert 0 <= trained["order"]["retrieval"]["order_contrast"] <= 1
    markdown = (tmp_path / "results.md").read_text()
    assert "| xpool |" in markdown and "| no LayerNorm, random q/k start, small W |" in markdown
    assert "wall time" in capsys.readouterr().out and "R@1 on each pool" not in markdown


def test_a_run_on_two_pools_reports_each_pool(tmp_path):
    output = tmp_path / "results"
    assert main(["--heads", "xpool", "--no_fix_table", "--steps", "1", "--batch_size", "8", "--pool", "4",
                 "--pools", "2", "--split", "val", "--seeds", "3,5", "--output", str(output)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    run = results["heads"]["xpool"]
    assert results["config"]["pool_seeds"] == [2, 10_002] and len(run["per_pool"]) == 2
    pooled = [pool["one_segment"]["retrieval"]["R1"] for pool in run["per_pool"]]
    assert run["trained"]["one_segment"]["retrieval"]["R1"] == pytest.approx(sum(pooled) / 2)
    assert "R1_std" in run["per_pool"][0]["one_segment"]["retrieval"]
    assert "**R@1 on each pool**" in (tmp_path / "results.md").read_text()


def test_a_training_seed_on_an_evaluation_pools_stream_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--seeds", "0,9003", "--output", "unused"])  # 1000 + 9003 = the second test pool's stream
    assert "training seed(s) 9003" in capsys.readouterr().err


def test_the_docs_have_the_generated_results_section():
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "feature_benchmark.md")) as handle:
        readme = handle.read()
    path = "bench/feature_level_results.md"
    assert f"<!-- BEGIN generated: {path} -->" in readme and f"<!-- END generated: {path} -->" in readme
