import pytest

from dataloaders.twin_pairs import read_all_twins, read_twin_index, twin_families
from modules.errors import InputError

HEADER = "video_id,reversed_video_id\n"


def test_twin_index_keeps_pairs_inside_the_split(tmp_path):
    (tmp_path / "order_contrast_pairs.csv").write_text(
        HEADER + "video0,video2\nvideo2,video0\nvideo1,video9\nvideo9,video1\n")
    twins = read_twin_index("msrvtt", str(tmp_path), ["video0", "video1", "video2"])
    assert twins.tolist() == [2, -1, 0]  # video9 is not in this split
    assert read_twin_index("msrvtt", str(tmp_path / "elsewhere"), ["video0"]) is None


@pytest.mark.parametrize("rows,message", [
    ("video0,video0\n", "line 2: video0 is listed as its own twin"),
    ("video0,video1\n", "video0 -> video1 is not listed the other way round"),
    ("video0\n", "line 2: 1 fields, the header has 2"),
])
def test_malformed_pairs_name_the_file_and_line(tmp_path, rows, message):
    (tmp_path / "order_contrast_pairs.csv").write_text(HEADER + rows)
    with pytest.raises(InputError, match=message) as error:
        read_twin_index("msrvtt", str(tmp_path), ["video0", "video1"])
    assert "order_contrast_pairs.csv" in str(error.value)


def test_all_twin_files_and_families_join_the_relations(tmp_path):
    (tmp_path / "order_contrast_pairs.csv").write_text(HEADER + "video0,video1\nvideo1,video0\nvideo2,video3\n"
                                                        "video3,video2\n")
    (tmp_path / "event_swap_pairs.csv").write_text("video_id,swapped_video_id\nvideo0,video2\nvideo2,video0\n"
                                                   "video1,video3\nvideo3,video1\n")
    (tmp_path / "event_reversal_pairs.csv").write_text("video_id,events_reversed_video_id\nvideo0,video3\n"
                                                       "video3,video0\nvideo1,video2\nvideo2,video1\n"
                                                       "video4,video5\nvideo5,video4\n")
    ids = ["video3", "video0", "video5", "video2", "video1", "video4", "video6"]
    twins = read_all_twins("msrvtt", str(tmp_path), ids)
    assert list(twins) == ["reversed", "swapped", "events_reversed"]
    assert twins["swapped"].tolist() == read_twin_index("msrvtt", str(tmp_path), ids, "swapped").tolist() \
        == [4, 3, -1, 1, 0, -1, -1]
    assert twins["events_reversed"].tolist() == [1, 0, 5, 4, 3, 2, -1]
    assert twin_families(*twins.values()).tolist() == [0, 0, 2, 0, 0, 2, -1]  # the quad {0, 1, 2, 3}, the pair {4, 5}
    assert twin_families(twins["reversed"]).tolist() == [0, 1, -1, 0, 1, -1, -1]
    assert read_all_twins("msrvtt", str(tmp_path / "elsewhere"), ids) == {}
