"""Caption kinds: the reader of caption_kinds.csv, metrics per kind, swap contrast in the report."""
import numpy as np
import pytest

from dataloaders.caption_kinds import read_caption_kinds, read_described_events
from dataloaders.retrieval_split import split_from_pairs
from modules.metrics import evaluation_report, metrics_by_caption_kind, text_to_video_ranks
from modules.errors import InputError

HEADER = "video_id,caption,kind,event\n"


def test_described_events_must_be_integers(tmp_path):
    split = split_from_pairs("msrvtt", "test", [("video0", "a red circle grows")])
    (tmp_path / "caption_kinds.csv").write_text(HEADER + "video0,a red circle grows,one_event,first\n")
    with pytest.raises(InputError, match="caption_kinds.csv column event: not an integer"):
        read_described_events(split, str(tmp_path))


def small_split():
    return split_from_pairs("msrvtt", "test", [("video0", "a red circle grows, then a blue square moves left"),
                                               ("video0", "a red circle grows"),
                                               ("video1", "a blue square moves right, then a red circle shrinks"),
                                               ("video1", "a red circle shrinks"),
                                               ("video2", "a green cross rises, then a red circle grows")])


def test_reader_gives_the_kind_of_every_caption_of_the_split(tmp_path):
    (tmp_path / "caption_kinds.csv").write_text(
        HEADER + '"video0","a red circle grows, then a blue square moves left",sequence,-1\n'
        "video0,a red circle grows,one_event,0\nvideo1,a red circle shrinks,one_event,1\n"
        '"video1","a blue square moves right, then a red circle shrinks",sequence,-1\n'
        '"video2","a green cross rises, then a red circle grows",sequence,-1\nvideo9,a pink cross falls,one_event,0\n')
    kinds = read_caption_kinds(small_split(), str(tmp_path))
    assert kinds.tolist() == ["sequence", "one_event", "sequence", "one_event", "sequence"]
    assert read_described_events(small_split(), str(tmp_path)).tolist() == [-1, 0, -1, 1, -1]
    assert read_caption_kinds(small_split(), str(tmp_path / "elsewhere")) is None
    assert read_described_events(small_split(), str(tmp_path / "elsewhere")) is None


@pytest.mark.parametrize("rows,message", [
    ("video0,a red circle grows,one_event,0\n", "no kind for video0 caption 'a red circle grows, then"),
    ("video0,a red circle grows,one_event,0\nvideo0,a red circle grows,sequence,-1\n",
     "line 3: video0 caption 'a red circle grows' listed with kind 'one_event' and 'sequence'"),
    ("video0,a red circle grows,one_event\n", "line 2: 3 fields, the header has 4"),
])
def test_malformed_kinds_name_the_file_and_line(tmp_path, rows, message):
    (tmp_path / "caption_kinds.csv").write_text(HEADER + rows)
    with pytest.raises(InputError, match=message) as error:
        read_caption_kinds(small_split(), str(tmp_path))
    assert "caption_kinds.csv" in str(error.value)


def test_metrics_per_kind_rank_each_kind_against_all_videos():
    rng = np.random.default_rng(0)
    sim = rng.uniform(-1, 1, size=(7, 4))
    index = np.array([0, 0, 1, 2, 3, 3, 1])
    kinds = np.array(["one_event", "sequence", "sequence", "one_event", "sequence", "one_event", "one_event"])
    by_kind = metrics_by_caption_kind(sim, index, kinds)
    assert list(by_kind) == ["one_event", "sequence"]
    for kind, rows in (("one_event", [0, 3, 5, 6]), ("sequence", [1, 2, 4])):
        ranks, _ = text_to_video_ranks(sim, index)
        assert by_kind[kind]["n_captions"] == len(rows)
        assert by_kind[kind]["MnR"] == pytest.approx(ranks[rows].mean())
        assert by_kind[kind]["R1"] == pytest.approx(100 * np.mean(ranks[rows] == 1))
    with pytest.raises(InputError, match="3 caption kinds for 7 captions"):
        metrics_by_caption_kind(sim, index, kinds[:3])


def test_report_has_every_twin_contrast_overall_and_per_kind():
    # videos 0, 1 are time-reversed twins, 0 and 2 event-swapped, 0 and 3 events-reversed; 4 has no twin
    twins = {"reversed": np.array([1, 0, -1, -1, -1]), "swapped": np.array([2, -1, 0, -1, -1]),
             "events_reversed": np.array([3, -1, -1, 0, -1])}
    index = [0, 0, 1, 2, 3, 4]
    kinds = np.array(["sequence", "one_event", "one_event", "sequence", "one_event", "one_event"])
    sim = np.array([[0.9, 0.1, 0.5, 0.95, 0.0],  # sequence caption of 0: beats reversed and swapped, not events-reversed
                    [0.4, 0.6, 0.4, 0.3, 0.0],   # one-event caption of 0: loses to the reversed twin, ties the swap
                    [0.3, 0.3, 0.0, 0.0, 0.0],   # one-event caption of 1: ties its reversed twin
                    [0.2, 0.0, 0.1, 0.0, 0.0],   # sequence caption of 2: loses to its swap 0
                    [0.0, 0.0, 0.0, 0.5, 0.0],   # one-event caption of 3: beats its events-reversed twin 0
                    [0.0, 0.0, 0.0, 0.0, 1.0]])
    split = split_from_pairs("msrvtt", "test", [(f"video{v}", f"caption {c}") for c, v in enumerate(index)])
    report = evaluation_report(sim, split, twins, False, caption_kinds=kinds)
    assert report["order_contrast"] == pytest.approx((1 + 0 + 0.5) / 3)
    assert report["swap_contrast"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert report["direction_contrast"] == pytest.approx((0 + 1 + 1) / 3)
    sequence, one_event = report["by_caption_kind"]["sequence"], report["by_caption_kind"]["one_event"]
    assert sequence["order_contrast"] == 1.0 and sequence["swap_contrast"] == 0.5 and sequence["direction_contrast"] == 0
    assert one_event["order_contrast"] == 0.25 and one_event["swap_contrast"] == 0.5
    assert one_event["direction_contrast"] == 1.0
    # a split with twins counts ties shared: caption 2 ties its reversed twin at the top, half a hit
    assert report["tie_rule"] == "shared"
    assert sequence["n_captions"] == 2 and sequence["R1"] == 0.0 and one_event["R1"] == 62.5
    # caption 1 is second or third (tied with the swap), caption 2 first or second: expected ranks 2.5, 1.5
    assert one_event["ties"] == 2 and one_event["MnR"] == pytest.approx((2.5 + 1.5 + 1 + 1) / 4)
    assert "by_caption_kind" not in evaluation_report(sim, split, twins, False)
