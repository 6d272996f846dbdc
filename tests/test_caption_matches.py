"""The videos each training caption describes: exact duplicates, the synthetic matches file, its
errors, the padded table, the dataset's items, and the target the driver trains with."""
import csv
import shutil

import pytest
import torch

import main_task_retrieval
from dataloaders.caption_matches import CAPTION_MATCHES_FILE, padded_matches, read_caption_matches
from dataloaders.retrieval_datasets import TrainPairDataset, collate_batch
from dataloaders.retrieval_split import split_from_pairs
from dataloaders.video_source import open_video_source
from modules import head_base
from modules.contrastive_loss import positive_mask
from modules.errors import InputError
from modules.tokenizer import CaptionTokenizer
from tests.support.driver_runs import driver_args

PAIRS = [("a", "a red circle grows"), ("b", "a man talks"), ("c", "a man talks "), ("a", "the circle"),
         ("d", "a blue square falls")]


def write_matches(folder, rows):
    with open(folder / CAPTION_MATCHES_FILE, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video_id", "caption", "matching_video_id"])
        writer.writerows(rows)


def test_a_caption_matches_its_video_and_the_videos_with_the_same_text(tmp_path):
    split = split_from_pairs("msrvtt", "train", PAIRS)  # videos a, b, c, d = 0, 1, 2, 3
    assert [videos.tolist() for videos in read_caption_matches(split, str(tmp_path))] == [[0], [1, 2], [1, 2], [0], [3]]


def test_the_matches_file_adds_the_videos_it_lists_and_skips_other_splits(tmp_path):
    split = split_from_pairs("msrvtt", "train", PAIRS)
    write_matches(tmp_path, [("a", "a red circle grows", "d"), ("a", "a red circle grows", "video_of_test"),
                             ("video_of_test", "anything", "a")])
    matches = read_caption_matches(split, str(tmp_path))
    assert [videos.tolist() for videos in matches] == [[0, 3], [1, 2], [1, 2], [0], [3]]
    assert padded_matches(matches).tolist() == [[0, 3], [1, 2], [1, 2], [0, -1], [3, -1]]


def test_a_listed_caption_that_its_video_lacks_is_an_error_naming_the_line(tmp_path):
    split = split_from_pairs("msrvtt", "train", PAIRS)
    write_matches(tmp_path, [("a", "a red circle grows", "d"), ("b", "a red circle grows", "a")])
    with pytest.raises(InputError, match=rf"{CAPTION_MATCHES_FILE} line 3: b has no caption 'a red circle grows'"):
        read_caption_matches(split, str(tmp_path))


def test_training_items_carry_the_videos_their_caption_describes(sample_frames, tmp_path):
    split = split_from_pairs("msrvtt", "train", [("a", "a clip"), ("b", "a clip"), ("c", "another clip")])
    table = padded_matches(read_caption_matches(split, str(tmp_path)))  # [3, 2]
    dataset = TrainPairDataset(split, open_video_source(sample_frames), CaptionTokenizer(max_words=8), max_frames=4,
                               image_size=16, caption_matches=table)
    batch = collate_batch([dataset[index] for index in range(3)])
    assert batch["caption_matches"].tolist() == [[0, 1], [0, 1], [2, -1]]
    assert positive_mask(batch["caption_matches"], batch["video_index"]).tolist() == [[True, True, False],
                                                                                      [True, True, False],
                                                                                      [False, False, True]]
    assert "caption_matches" not in TrainPairDataset(split, open_video_source(sample_frames),
                                                     CaptionTokenizer(max_words=8), max_frames=4, image_size=16)[0]


@pytest.fixture(scope="module")
def shared_caption_data(synthetic, tmp_path_factory):
    """The driver's tiny dataset with one extra match: the caption of the first training video also
    describes the second one."""
    annotations = tmp_path_factory.mktemp("matches") / "annotations"
    shutil.copytree(synthetic["annotations"], annotations)
    with open(annotations / "MSRVTT_train.9k.csv") as handle:
        first, second = [line.strip() for line in handle][1:3]
    with open(annotations / "caption_kinds.csv") as handle:
        caption = next(row["caption"] for row in csv.DictReader(handle) if row["video_id"] == first)
    write_matches(annotations, [(first, caption, second)])
    return {**synthetic, "annotations": str(annotations)}


def positives_seen(data, output, monkeypatch, *extra):
    """The positive masks the driver's loss received in a one-epoch run (None where it got none)."""
    seen, original = [], head_base.symmetric_infonce

    def recording(sim, scale, positives=None):
        seen.append(None if positives is None else positives.clone())
        return original(sim, scale, positives)

    monkeypatch.setattr(head_base, "symmetric_infonce", recording)
    assert main_task_retrieval.main(driver_args(data, output, "--epochs", "1", "--batch_size", "22",
                                                "--train_captions", "one", *extra)) == 0
    return seen


def test_the_driver_trains_every_listed_match_as_a_positive(shared_caption_data, tmp_path, monkeypatch):
    """One batch of all 22 training videos: the mask has the identity and the listed pair; with
    --train_positives own the loss gets no mask (the one-hot target)."""
    seen = positives_seen(shared_caption_data, tmp_path / "matches", monkeypatch)
    assert len(seen) == 1 and seen[0] is not None
    positives = seen[0]
    assert positives.diagonal().all() and int(positives.sum()) == 23
    assert positives.sum(1).max() == 2 and not torch.equal(positives, positives.T)
    assert positives_seen(shared_caption_data, tmp_path / "own", monkeypatch, "--train_positives", "own") == [None]
