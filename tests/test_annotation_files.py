"""Bad annotation files as users meet them: non-UTF-8 bytes, spreadsheet re-saves, empty
splits, MSR-VTT test ids outside the JSON or inside the training list, damaged pickles, and
DiDeMo's real video names. Each is one InputError naming the dataset, the file and the line."""
import os
import pickle
import struct

import pytest

from dataloaders.builtin_pickle import load_builtin_pickle
from dataloaders.registry import load_retrieval_splits
from modules.errors import InputError
from tests.support.annotations import DIDEMO_VAL, dataset_folder, rewrite, write_didemo


def load_error(datatype, folder, msrvtt_split="9k") -> str:
    """The message of the InputError that reading the dataset's annotations raises."""
    with pytest.raises(InputError) as error:
        load_retrieval_splits(datatype, folder, msrvtt_split=msrvtt_split)
    return str(error.value)


def replace_bytes(path, old: bytes, new: bytes):
    with open(path, "rb") as handle:
        data = handle.read()
    assert old in data
    with open(path, "wb") as handle:
        handle.write(data.replace(old, new, 1))


@pytest.mark.parametrize("datatype, file_name, old, line", [
    ("msrvtt", "MSRVTT_JSFUSION_test.csv", b"a dog runs", 3),
    ("msrvtt", "MSRVTT_train.9k.csv", b"video2", 4),
    ("lsmdc", "LSMDC16_annos_val.csv", b"SOMEONE stares", 1),
    ("vatex", "test_list.txt", b"3Wd9iZQ3AdM_000030_000040", 2),
])
def test_a_latin1_byte_names_file_line_and_byte_offset(tmp_path, datatype, file_name, old, line):
    folder = dataset_folder(tmp_path, datatype)
    path = os.path.join(folder, file_name)
    with open(path, "rb") as handle:
        offset = handle.read().index(old) + 1
    replace_bytes(path, old, old[:1] + b"\xe9" + old[2:])  # 'é' in Latin-1: not UTF-8
    assert load_error(datatype, folder) == (f"{datatype}: {path} line {line}, byte {offset}: not UTF-8 text "
                                            "(byte 0xe9); re-save the file as UTF-8")


def test_byte_offsets_count_the_byte_order_mark(tmp_path):
    folder = dataset_folder(tmp_path, "msrvtt")
    path = os.path.join(folder, "MSRVTT_JSFUSION_test.csv")
    with open(path, "rb") as handle:
        data = b"\xef\xbb\xbf" + handle.read()
    offset = data.index(b"a dog runs") + 1
    with open(path, "wb") as handle:
        handle.write(data.replace(b"a dog runs", b"a\xe9dog runs"))
    with pytest.raises(InputError, match=f"line 3, byte {offset}: not UTF-8"):
        load_retrieval_splits("msrvtt", folder)


def test_a_semicolon_separated_resave_is_rejected_saying_so(tmp_path):
    folder = dataset_folder(tmp_path, "msrvtt")
    path = os.path.join(folder, "MSRVTT_JSFUSION_test.csv")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    with open(path, "w", encoding="utf-8") as handle:  # what a spreadsheet in a European locale writes
        handle.write("\n".join(";".join(line.split(",", 3)) for line in text.splitlines()) + "\n")
    message = load_error("msrvtt", folder)
    assert message.startswith(f"msrvtt: {path} line 1: header lacks column(s) ['video_id', 'sentence']")
    assert "the header is separated by semicolons, not commas" in message and "\n" not in message


@pytest.mark.parametrize("datatype, file_name, keep_lines, msrvtt_split, split", [
    ("msrvtt", "MSRVTT_JSFUSION_test.csv", 1, "9k", "test"),
    ("msrvtt", "MSRVTT_train.7k.csv", 1, "7k", "train"),
    ("lsmdc", "LSMDC16_challenge_1000_publictect.csv", 0, "9k", "test"),
    ("vatex", "val_list.txt", 0, "9k", "val"),
])
def test_an_empty_split_is_an_error_naming_dataset_split_and_file(tmp_path, datatype, file_name, keep_lines,
                                                                  msrvtt_split, split):
    folder = dataset_folder(tmp_path, datatype)
    path = os.path.join(folder, file_name)
    with open(path, encoding="utf-8") as handle:
        kept = handle.readlines()[:keep_lines]  # the header only, or nothing
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(kept)
    expected = f"{datatype} {split} split is empty: {path} has no video with a caption"
    assert load_error(datatype, folder, msrvtt_split) == expected


def test_msrvtt_full_without_validation_videos_fails_at_load(tmp_path):
    folder = dataset_folder(tmp_path, "msrvtt")
    path = os.path.join(folder, "MSRVTT_data.json")
    rewrite(path, '"split": "validate"', '"split": "train"')
    expected = f"msrvtt val split is empty: {path} has no video with split 'validate'"
    assert load_error("msrvtt", folder, "full") == expected


def test_msrvtt_test_id_missing_from_the_json_names_the_line(tmp_path):
    folder = dataset_folder(tmp_path, "msrvtt")
    path = os.path.join(folder, "MSRVTT_JSFUSION_test.csv")
    rewrite(path, "msr5,video5,", "msr9999,video9999,")
    assert load_error("msrvtt", folder) == (f"msrvtt: {path} line 3: video 'video9999' is not a video of "
                                f"{os.path.join(folder, 'MSRVTT_data.json')}")


def test_msrvtt_test_ids_in_the_training_list_are_reported_with_both_lines(tmp_path):
    folder = dataset_folder(tmp_path, "msrvtt")
    path = os.path.join(folder, "MSRVTT_JSFUSION_test.csv")
    rewrite(path, "msr5,video5,", "msr1,video1,")
    rewrite(path, "msr6,video6,", "msr3,video3,")
    train = os.path.join(folder, "MSRVTT_train.9k.csv")
    assert load_error("msrvtt", folder) == (f"msrvtt: {path}: 2 test videos are also in the training list {train} "
                                            "(test results would not be held out): video1 (line 3; "
                                            "MSRVTT_train.9k.csv line 3); video3 (line 4; MSRVTT_train.9k.csv line 5)")
    seven = load_retrieval_splits("msrvtt", folder, msrvtt_split="7k")
    assert seven["test"].video_ids == ["video4", "video1", "video3"]


@pytest.mark.parametrize("opcode, declared", [
    (b"\x8e", 1 << 60),         # BINBYTES8: 2**60 bytes
    (b"\x96", 1 << 60),         # BYTEARRAY8
    (b"\x8d", 1 << 60),         # BINUNICODE8
    (b"\x8e", (1 << 64) - 1),   # more than sys.maxsize
])
def test_a_pickle_declaring_a_huge_length_is_a_clear_error(tmp_path, opcode, declared):
    path = tmp_path / "raw-captions.pkl"
    path.write_bytes(b"\x80\x05" + opcode + struct.pack("<Q", declared) + b"abc")
    with pytest.raises(InputError, match=rf"msvd: {path}: not a plain pickle of built-in data \((pickle data was "
                                         r"truncated|it declares an object larger than memory in a 14-byte file|"
                                         r"BINBYTES exceeds)"):
        load_builtin_pickle(str(path), "msvd")


def test_a_plain_pickle_still_loads(tmp_path):
    path = tmp_path / "raw-captions.pkl"
    captions = {"vid_1_5": [["a", "man", "cooks"]], "vid_2_9": [["a", "cat"], ["a", "kitten"]]}
    path.write_bytes(pickle.dumps(captions, protocol=5))
    assert load_builtin_pickle(str(path), "msvd") == captions


def test_didemo_keeps_every_video_of_the_real_files_once(tmp_path):
    folder = write_didemo(str(tmp_path / "didemo"), DIDEMO_VAL)
    val = load_retrieval_splits("didemo", folder)["val"]
    assert len({video for video, _ in DIDEMO_VAL}) == 7  # what the file names, "X" and "X." counted apart
    assert val.video_ids == ["26581452@N00_2622373391_8fe6d9a4e0", "71337457@N00_4287163004_62ee8ba7e8",
                             "10133006@N07_3291006584_0f5e0d3e8a", "52338207@N00_5146924734_a6a4b2c1b7",
                             "89416154@N00_5467232862_4a5de2b2c7", "99963443@N00_2373417410_fb3d4c5a3e"]
    assert val.captions == ["a man walks in he sits down", "the baby claps the baby laughs", "a car passes",
                            "the dog barks", "kids run to the left one kid falls", "a bird lands the bird flies away"]
    assert val.caption_video_index.tolist() == list(range(6))
