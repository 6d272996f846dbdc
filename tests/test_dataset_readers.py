import os
import pickle

import numpy as np
import pytest

from dataloaders.registry import DATATYPES, load_retrieval_splits
from modules.errors import InputError
from tests.support.annotations import dataset_folder, rewrite


def summary(split):
    return split.video_ids, split.caption_video_index.tolist()


def test_msrvtt_9k_and_7k_train_on_every_caption_and_test_on_1k_a(tmp_path):
    folder = dataset_folder(tmp_path, "msrvtt")
    splits = load_retrieval_splits("msrvtt", folder)
    assert set(splits) == {"train", "test"}  # 9k has no validation split
    assert summary(splits["train"]) == (["video0", "video1", "video2", "video3"], [0, 0, 1, 1, 1, 2, 3, 3])
    assert splits["train"].captions[:2] == ["a car is shown", "a red car drives down a road"]
    assert summary(splits["test"]) == (["video4", "video5", "video6"], [0, 1, 2])
    assert splits["test"].captions[0] == "a man, who is a teacher, talks"
    seven = load_retrieval_splits("msrvtt", folder, msrvtt_split="7k")
    assert set(seven) == {"train", "test"}
    assert summary(seven["train"]) == (["video0", "video2"], [0, 0, 1])
    assert seven["test"].video_ids == splits["test"].video_ids


def test_msrvtt_full_uses_the_official_splits_with_multi_caption_test(tmp_path):
    splits = load_retrieval_splits("msrvtt", dataset_folder(tmp_path, "msrvtt"), msrvtt_split="full")
    assert set(splits) == {"train", "val", "test"}
    assert summary(splits["train"]) == (["video0", "video1", "video2"], [0, 0, 1, 1, 1, 2])
    assert summary(splits["val"]) == (["video3"], [0, 0])
    assert summary(splits["test"]) == (["video4", "video5", "video6"], [0, 0, 1, 1, 1, 2])
    assert splits["test"].captions[1] == 'a lecture about "physics"'


def test_lsmdc_reads_tab_separated_lines_with_quotes_and_commas(tmp_path):
    splits = load_retrieval_splits("lsmdc", dataset_folder(tmp_path, "lsmdc"))
    assert [len(splits[s].video_ids) for s in ("train", "val", "test")] == [3, 1, 2]
    assert splits["train"].captions[1] == 'She says, "fine" and walks off.'
    assert splits["test"].video_ids[1] == "3001_21_JUMP_STREET_00.00.04.000-00.00.06.000"
    assert splits["test"].captions == ["Two men run, laughing.", '"Go," he shouts.']
    assert splits["test"].caption_video_index.tolist() == [0, 1]


def test_vatex_uses_hgr_lists_and_all_ten_english_captions(tmp_path):
    splits = load_retrieval_splits("vatex", dataset_folder(tmp_path, "vatex"))
    assert summary(splits["train"])[0] == ["Ptf_2VRj-V0_000122_000132", "--6bJUbfpnQ_000017_000027"]
    assert summary(splits["val"])[0] == ["qeKX-N1nKiM_000009_000019"]
    test = splits["test"]
    assert test.video_ids == ["G9zN5TTuGO4_000179_000189", "3Wd9iZQ3AdM_000030_000040"]
    assert test.caption_video_index.tolist() == [0] * 10 + [1] * 10
    assert test.captions[10] == "dogs bark scene number 0"


def test_msvd_joins_token_lists_into_multi_caption_splits(tmp_path):
    splits = load_retrieval_splits("msvd", dataset_folder(tmp_path, "msvd"))
    assert summary(splits["train"]) == (["-4wsuPCjDBc_5_15", "-7KMZQEsJW4_205_208"], [0, 0, 1])
    assert splits["train"].captions[0] == "a man is cooking"
    assert summary(splits["val"]) == (["-8y1Q0rA3n8_108_115"], [0, 0, 0])
    assert summary(splits["test"]) == (["-AwoiGR6c8M_10_14", "-Cv5LsqKUXc_17_25"], [0, 0, 1])


def test_didemo_joins_a_videos_descriptions_into_one_paragraph(tmp_path):
    splits = load_retrieval_splits("didemo", dataset_folder(tmp_path, "didemo"))
    train = splits["train"]
    assert train.video_ids == ["10015567@N08_3655084291_d8b58466fa", "10034254@N08_4637883329_ea60ac2d41"]
    assert train.captions[0] == "a girl in a pink shirt walks by the camera zooms in on the cake people clap"
    assert train.caption_video_index.tolist() == [0, 1]
    assert splits["test"].captions == ["the first goal is scored the players celebrate", "a baby laughs"]
    assert len(splits["val"].captions) == 1


@pytest.mark.parametrize("datatype", DATATYPES)
def test_every_dataset_has_train_and_test_with_consistent_indices(tmp_path, datatype):
    splits = load_retrieval_splits(datatype, dataset_folder(tmp_path, datatype))
    assert {"train", "test"} <= set(splits) <= {"train", "val", "test"}
    for name, split in splits.items():
        assert (split.dataset, split.name) == (datatype, name)
        assert len(split.captions) == len(split.caption_video_index) > 0
        assert sorted(set(split.caption_video_index.tolist())) == list(range(len(split.video_ids)))


def test_unknown_datatype_split_and_missing_files_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="unknown --datatype 'kinetics'"):
        load_retrieval_splits("kinetics", str(tmp_path))
    with pytest.raises(InputError, match="unknown MSR-VTT split '8k'"):
        load_retrieval_splits("msrvtt", dataset_folder(tmp_path, "msrvtt"), msrvtt_split="8k")
    with pytest.raises(InputError, match="lsmdc: annotation file not found: .*LSMDC16_annos_training.csv"):
        load_retrieval_splits("lsmdc", str(tmp_path))


@pytest.mark.parametrize("datatype, file_name, old, new, expected", [
    ("msrvtt", "MSRVTT_JSFUSION_test.csv", "a dog runs on the beach", "", r"MSRVTT_JSFUSION_test.csv line 3: empty 'sentence'"),
    ("msrvtt", "MSRVTT_JSFUSION_test.csv", "ret1,msr5,", "ret1,", r"MSRVTT_JSFUSION_test.csv line 3: 3 fields, the header has 4"),
    ("msrvtt", "MSRVTT_train.9k.csv", "video2", "video77", r"MSRVTT_train.9k.csv line 4: video 'video77' has no captions"),
    ("msrvtt", "MSRVTT_data.json", '"caption": "someone cooks pasta"', '"text": "x"', r"MSRVTT_data.json sentences\[5\]: field 'caption'"),
    ("msrvtt", "MSRVTT_data.json", '"sen_id": 0}', '"sen_id": 0', r"MSRVTT_data.json line 1 column \d+: not valid JSON"),
    ("lsmdc", "LSMDC16_annos_val.csv", "\tSOMEONE stares", " SOMEONE stares", r"LSMDC16_annos_val.csv line 1: expected 6 tab-separated fields"),
    ("vatex", "test_list.txt", "3Wd9iZQ3AdM_000030_000040", "missing_000001_000011", r"test_list.txt line 2: video 'missing_000001_000011'"),
    ("vatex", "vatex_training_v1.0.json", '"enCap": ["people dance scene number 0"', '"enCap": [7', r"vatex_training_v1.0.json videos\[0\]: 'enCap'"),
    ("msvd", "val_list.txt", "-8y1Q0rA3n8_108_115", "nope", r"val_list.txt line 1: video 'nope' has no captions in raw-captions.pkl"),
    ("didemo", "test_data.json", '"description": "a baby laughs"', '"description": ""', r"test_data.json moments\[1\]: field 'description'"),
])
def test_malformed_annotations_name_dataset_file_and_line(tmp_path, datatype, file_name, old, new, expected):
    folder = dataset_folder(tmp_path, datatype)
    rewrite(os.path.join(folder, file_name), old, new)
    with pytest.raises(InputError, match=expected) as error:
        load_retrieval_splits(datatype, folder, msrvtt_split="9k")
    assert str(error.value).startswith(f"{datatype}: {folder}")


def test_msvd_pickle_that_would_run_code_is_refused(tmp_path):
    class RunsCode:
        def __reduce__(self):
            return os.system, (f"touch {tmp_path / 'pwned'}",)

    folder = dataset_folder(tmp_path, "msvd")
    with open(os.path.join(folder, "raw-captions.pkl"), "wb") as handle:
        pickle.dump({"-4wsuPCjDBc_5_15": RunsCode()}, handle)
    with pytest.raises(InputError, match=r"msvd: .*raw-captions.pkl: not a plain pickle .*refusing to load posix.system"):
        load_retrieval_splits("msvd", folder)
    assert not (tmp_path / "pwned").exists()


def test_msvd_pickle_with_strings_instead_of_token_lists_names_the_entry(tmp_path):
    folder = dataset_folder(tmp_path, "msvd")
    with open(os.path.join(folder, "raw-captions.pkl"), "wb") as handle:
        pickle.dump({"-4wsuPCjDBc_5_15": ["a man is cooking"]}, handle)
    with pytest.raises(InputError, match=r"raw-captions.pkl entry '-4wsuPCjDBc_5_15': expected a non-empty list"):
        load_retrieval_splits("msvd", folder)


def test_keep_videos_drops_their_captions_and_reindexes(tmp_path):
    test = load_retrieval_splits("msrvtt", dataset_folder(tmp_path, "msrvtt"), msrvtt_split="full")["test"]
    kept = test.keep_videos(np.array([True, False, True]))
    assert kept.video_ids == ["video4", "video6"]
    assert kept.captions == [test.captions[0], test.captions[1], "a chef slices onions"]
    assert kept.caption_video_index.tolist() == [0, 0, 1]
    assert [c.tolist() for c in test.caption_indices_per_video()] == [[0, 1], [2, 3, 4], [5]]


def test_files_saved_with_a_byte_order_mark_read_the_same(tmp_path):
    folder = dataset_folder(tmp_path, "msrvtt")
    for name in ("MSRVTT_data.json", "MSRVTT_train.9k.csv", "MSRVTT_JSFUSION_test.csv"):
        path = os.path.join(folder, name)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        with open(path, "w", encoding="utf-8-sig") as handle:
            handle.write(text)
    splits = load_retrieval_splits("msrvtt", folder)
    assert summary(splits["train"])[0] == ["video0", "video1", "video2", "video3"]
    assert len(splits["test"].captions) == 3
