"""Annotation folders for the dataset readers' tests: copies of tests/fixtures/ that a test may
modify, and DiDeMo files with the video names of the real ones."""
import json
import os
import pickle
import shutil

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")

MSVD_CAPTIONS = {
    "-4wsuPCjDBc_5_15": [["a", "man", "is", "cooking"], ["someone", "fries", "an", "egg"]],
    "-7KMZQEsJW4_205_208": [["a", "cat", "sleeps"]],
    "-8y1Q0rA3n8_108_115": [["a", "boy", "rides", "a", "bike"], ["a", "child", "cycles"], ["kid", "on", "bike"]],
    "-AwoiGR6c8M_10_14": [["a", "woman", "sings"], ["a", "lady", "is", "singing"]],
    "-Cv5LsqKUXc_17_25": [["two", "dogs", "fight"]],
    "unused_0_1": [["not", "in", "any", "list"]],
}


def dataset_folder(tmp_path, datatype):
    """A copy of the fixture folder that a test may modify (MSVD's pickle written here)."""
    folder = tmp_path / datatype
    shutil.copytree(os.path.join(FIXTURES, datatype), folder)
    if datatype == "msvd":
        with open(folder / "raw-captions.pkl", "wb") as handle:
            pickle.dump(MSVD_CAPTIONS, handle, protocol=2)
    return str(folder)


def rewrite(path, old, new):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    assert old in text
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text.replace(old, new, 1))


# DiDeMo's val / test files as LocalizingMoments distributes them: Flickr names whose
# suffixes include .mts, .m2ts, .3g2 and a bare "."; one video named both "X" and "X.".
DIDEMO_VAL = [
    ("26581452@N00_2622373391_8fe6d9a4e0.mov", "a man walks in"),
    ("71337457@N00_4287163004_62ee8ba7e8.mts", "the baby claps"),
    ("10133006@N07_3291006584_0f5e0d3e8a.m2ts", "a car passes"),
    ("26581452@N00_2622373391_8fe6d9a4e0.mov", "he sits down"),
    ("52338207@N00_5146924734_a6a4b2c1b7.3g2", "the dog barks"),
    ("89416154@N00_5467232862_4a5de2b2c7.", "kids run to the left"),
    ("71337457@N00_4287163004_62ee8ba7e8.mts", "the baby laughs"),
    ("99963443@N00_2373417410_fb3d4c5a3e", "a bird lands"),
    ("89416154@N00_5467232862_4a5de2b2c7.", "one kid falls"),
    ("99963443@N00_2373417410_fb3d4c5a3e.", "the bird flies away"),
]


def write_didemo(folder, val_records):
    os.makedirs(folder, exist_ok=True)
    for name in ("train", "val", "test"):
        records = val_records if name != "train" else val_records[:1]
        moments = [{"description": text, "times": [[0, 1], [1, 1], [0, 1], [0, 0]], "video": video,
                    "dl_link": "https://www.flickr.com/video_download.gne?id=0", "annotation_id": str(i)}
                   for i, (video, text) in enumerate(records)]
        with open(os.path.join(folder, f"{name}_data.json"), "w", encoding="utf-8") as handle:
            json.dump(moments, handle)
    return folder
