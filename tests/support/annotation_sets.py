"""Generated datasets without videos, as the dataset check reads them: MSR-VTT's annotation files
at any size and a pre-extracted frames folder of manifest lines and empty video folders."""
import csv
import json
import os

from dataloaders.frame_layout import MANIFEST_NAME, FrameRecord, frame_folder


def write_msrvtt(folder, train: int, test: int, captions: int) -> None:
    """MSRVTT_data.json, MSRVTT_train.9k.csv and MSRVTT_JSFUSION_test.csv as distributed:
    videos video0 .. video{train + test - 1}, the last `test` of them the 1k-A test set."""
    ids = [f"video{i}" for i in range(train + test)]
    data = {"videos": [{"video_id": video_id, "split": "train"} for video_id in ids],
            "sentences": [{"video_id": video_id, "caption": f"caption {k} of {video_id}"}
                          for video_id in ids for k in range(captions)]}
    with open(os.path.join(folder, "MSRVTT_data.json"), "w") as handle:
        json.dump(data, handle)
    with open(os.path.join(folder, "MSRVTT_train.9k.csv"), "w", newline="") as handle:
        csv.writer(handle).writerows([["video_id"]] + [[video_id] for video_id in ids[:train]])
    with open(os.path.join(folder, "MSRVTT_JSFUSION_test.csv"), "w", newline="") as handle:
        csv.writer(handle).writerows([["key", "vid_key", "video_id", "sentence"]] +
                                     [[f"ret{i}", f"msr{i}", video_id, f"caption 0 of {video_id}"]
                                      for i, video_id in enumerate(ids[train:])])


def write_frame_folder(root, ids, missing) -> None:
    """A pre-extracted frames folder as the source lists it: the manifest (frames 10 .. 29 per
    video) and one folder per video (no JPEG: nothing is decoded), none for `missing`."""
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, MANIFEST_NAME), "w") as handle:
        for i, video_id in enumerate(ids):
            handle.write(FrameRecord(video_id, 10 + i % 20, 1.0, 224, 10.0 + i % 20, video_id + ".mp4").to_json() + "\n")
            if video_id not in missing:
                os.makedirs(frame_folder(root, video_id))
