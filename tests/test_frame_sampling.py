import numpy as np
import pytest

from dataloaders.frame_sampling import order_frames, parse_frame_order, parse_slice_framepos, sample_frame_indices
from dataloaders.video_timeline import timeline_frame_count, timeline_native_indices
from modules.errors import InputError


def test_uniform_takes_the_middle_of_equal_segments():
    assert sample_frame_indices(24, 12, "uniform").tolist() == list(range(1, 24, 2))  # segment [0, 2) -> 1, ...
    assert sample_frame_indices(30, 3, "uniform").tolist() == [5, 15, 25]
    assert sample_frame_indices(100, 12, "uniform").tolist() == [4, 12, 20, 29, 37, 45, 54, 62, 70, 79, 87, 95]


def test_head_and_tail_take_the_first_and_last_frames():
    assert sample_frame_indices(30, 4, "head").tolist() == [0, 1, 2, 3]
    assert sample_frame_indices(30, 4, "tail").tolist() == [26, 27, 28, 29]


def test_linspace_is_clip4clips_uniform_sampling_first_and_last_frame_included():
    """np.linspace(0, n - 1, max_frames) rounded down (CLIP4Clip's slice_framepos 2); no random offset."""
    assert sample_frame_indices(15, 12, "linspace").tolist() == [0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 14]
    assert sample_frame_indices(30, 3, "linspace", np.random.default_rng(0)).tolist() == [0, 14, 29]


@pytest.mark.parametrize("mode", ["head", "tail", "uniform", "linspace"])
def test_short_videos_give_all_their_frames(mode):
    assert sample_frame_indices(5, 12, mode).tolist() == [0, 1, 2, 3, 4]
    assert sample_frame_indices(12, 12, mode, np.random.default_rng(0)).tolist() == list(range(12))


def test_random_offset_stays_inside_each_segment_and_varies():
    rng = np.random.default_rng(0)
    draws = np.stack([sample_frame_indices(100, 12, "uniform", rng) for _ in range(300)])  # [300, 12]
    edges = np.arange(13) * 100 / 12
    assert (draws >= np.ceil(edges[:-1])).all() and (draws < edges[1:]).all()
    assert draws.min(axis=0).tolist() == np.ceil(edges[:-1]).astype(int).tolist()  # every frame can be drawn
    assert draws.max(axis=0).tolist() == (np.ceil(edges[1:]) - 1).astype(int).tolist()
    assert sample_frame_indices(30, 4, "head", rng).tolist() == [0, 1, 2, 3]  # no offset outside uniform


def test_frame_orders():
    indices = np.array([3, 7, 11, 15])
    rng = np.random.default_rng(1)
    assert order_frames(indices, "normal", rng).tolist() == [3, 7, 11, 15]
    assert order_frames(indices, "reverse", rng).tolist() == [15, 11, 7, 3]
    shuffled = [tuple(order_frames(indices, "shuffle", rng).tolist()) for _ in range(20)]
    assert all(sorted(s) == [3, 7, 11, 15] for s in shuffled) and len(set(shuffled)) > 1


def test_names_and_clip4clip_integers_are_accepted():
    assert [parse_slice_framepos(v) for v in (0, 1, 2, "2", "Uniform")] == ["head", "tail", "linspace", "linspace",
                                                                             "uniform"]
    assert [parse_frame_order(v) for v in (0, 1, 2, "reverse")] == ["normal", "reverse", "shuffle", "reverse"]
    with pytest.raises(InputError, match=r"must be one of head \(0\), tail \(1\), linspace \(2\), uniform, got 3"):
        parse_slice_framepos(3)
    with pytest.raises(InputError, match="frame_order must be one of"):
        parse_frame_order("random")


def test_timeline_takes_the_middle_frame_of_each_interval():
    assert timeline_frame_count(300, 30.0, 1.0) == 10
    assert timeline_native_indices(300, 30.0, 1.0).tolist() == list(range(15, 300, 30))
    assert timeline_native_indices(80, 8.0, 2.0).tolist() == list(range(2, 80, 4))
    assert timeline_native_indices(5, 30.0, 1.0).tolist() == [2]  # shorter than one interval: its middle frame
