import pytest
import torch
from torch.utils.data import DataLoader

from dataloaders.retrieval_datasets import EvalVideoDataset, TrainPairDataset, collate_batch
from dataloaders.retrieval_split import split_from_pairs
from dataloaders.video_source import open_video_source
from modules.errors import InputError
from modules.tokenizer import CaptionTokenizer
from tests.support.videos import clip_numbers

PAIRS = [("a", "a red circle moves left"), ("b", "a blue square"), ("a", "a circle"), ("c", "a short clip"),
         ("a", "the red circle again")]


@pytest.fixture(scope="module")
def tokenizer():
    return CaptionTokenizer(max_words=8)


@pytest.fixture
def split():
    return split_from_pairs("msrvtt", "train", PAIRS)


def train_dataset(split, sample_frames, tokenizer, **options):
    defaults = dict(max_frames=4, image_size=16)
    return TrainPairDataset(split, open_video_source(sample_frames), tokenizer, **{**defaults, **options})


def test_training_items_pair_every_caption_with_its_video(split, sample_frames, tokenizer):
    dataset = train_dataset(split, sample_frames, tokenizer)
    assert len(dataset) == 5
    item = dataset[3]
    assert set(item) == {"tokens", "video", "video_mask", "caption_index", "video_index"}
    assert (item["caption_index"], item["video_index"]) == (3, 2)
    assert torch.equal(item["tokens"], tokenizer(["a short clip"]).tokens[0])
    assert item["video"].dtype == torch.uint8 and item["video"].shape == (4, 3, 16, 16)
    assert item["video_mask"].tolist() == [True, False, False, False]  # c has a single frame
    assert item["video"][1:].eq(0).all() and item["video"][0].gt(0).any()
    assert clip_numbers(item["video"], item["video_mask"]) == [1]


def test_one_caption_per_video_draws_among_its_own_captions(split, sample_frames, tokenizer):
    dataset = train_dataset(split, sample_frames, tokenizer, captions_per_video="one")
    assert len(dataset) == 3
    drawn = set()
    for epoch in range(12):
        dataset.set_epoch(epoch)
        item = dataset[0]
        assert item["video_index"] == 0
        drawn.add(item["caption_index"])
    assert drawn == {0, 2, 4}
    with pytest.raises(InputError, match="captions_per_video must be one of all, one"):
        train_dataset(split, sample_frames, tokenizer, captions_per_video="random")


def test_random_offsets_depend_only_on_seed_epoch_and_index(split, sample_frames, tokenizer):
    dataset = train_dataset(split, sample_frames, tokenizer)
    first = [clip_numbers(dataset[0]["video"], dataset[0]["video_mask"]) for _ in range(2)]
    assert first[0] == first[1]
    # a: 20 timeline frames, 4 segments of 5 -> one frame per segment, native index 4 * t + 2
    segments = [range(2 + 20 * k, 2 + 20 * (k + 1), 4) for k in range(4)]
    seen = set()
    for epoch in range(6):
        dataset.set_epoch(epoch)
        numbers = clip_numbers(dataset[0]["video"], dataset[0]["video_mask"])
        assert all(n in segment for n, segment in zip(numbers, segments))
        seen.add(tuple(numbers))
    assert len(seen) > 1
    dataset.set_epoch(3)
    resumed = train_dataset(split, sample_frames, tokenizer)
    resumed.set_epoch(3)
    assert torch.equal(dataset[2]["video"], resumed[2]["video"])


def test_evaluation_clips_are_segment_middles_in_the_requested_order(split, sample_frames):
    source = open_video_source(sample_frames)
    normal = EvalVideoDataset(split, source, max_frames=4, image_size=16)
    reverse = EvalVideoDataset(split, source, max_frames=4, image_size=16, frame_order=1)
    shuffle = EvalVideoDataset(split, source, max_frames=4, image_size=16, frame_order="shuffle")
    assert len(normal) == 3
    item = normal[0]
    assert set(item) == {"video", "video_mask", "video_index"} and item["video_index"] == 0
    assert clip_numbers(item["video"], item["video_mask"]) == [10, 30, 50, 70]  # timeline 2, 7, 12, 17
    assert clip_numbers(reverse[0]["video"], reverse[0]["video_mask"]) == [70, 50, 30, 10]
    shuffled = clip_numbers(shuffle[0]["video"], shuffle[0]["video_mask"])
    assert sorted(shuffled) == [10, 30, 50, 70] and shuffled == clip_numbers(shuffle[0]["video"], shuffle[0]["video_mask"])
    head = EvalVideoDataset(split, source, max_frames=4, image_size=16, slice_framepos="head")
    assert clip_numbers(head[0]["video"], head[0]["video_mask"]) == [2, 6, 10, 14]


def assert_same_batches(first, second):
    assert len(first) == len(second)
    for one, other in zip(first, second):
        assert one.keys() == other.keys()
        assert all(torch.equal(one[key], other[key]) for key in one)


def test_dataloader_workers_reproduce_the_single_process_batches(split, sample_frames, tokenizer):
    dataset = train_dataset(split, sample_frames, tokenizer, frame_order="shuffle")
    loaders = [DataLoader(dataset, batch_size=2, num_workers=workers, collate_fn=collate_batch,
                          persistent_workers=workers > 0) for workers in (0, 2)]
    epochs = []
    for epoch in (2, 3):  # the persistent workers must see the new epoch
        dataset.set_epoch(epoch)
        batches = [list(loader) for loader in loaders]
        assert_same_batches(*batches)
        epochs.append(batches[1])
    assert [b["caption_index"].tolist() for b in epochs[1]] == [[0, 1], [2, 3], [4]]
    first = epochs[1][0]
    assert first["video"].shape == (2, 4, 3, 16, 16) and first["video_mask"].shape == (2, 4)
    assert first["tokens"].shape == (2, 8) and first["video_index"].dtype == torch.int64
    assert not torch.equal(epochs[0][0]["video"], epochs[1][0]["video"])
