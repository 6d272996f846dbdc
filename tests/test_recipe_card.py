"""Every launcher passes the flags of its row of the recipe card (docs/recipe.md), for every head of the row, and
the CLI accepts them. The launchers run with a stand-in for python that prints its arguments."""
import os
import re
import shlex
import subprocess

import pytest

from driver.flags import get_args

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Flags every launch passes whatever the recipe: the run's paths and device, the task and the dataset.
NOT_RECIPE = {"--do_train", "--datatype", "--msrvtt_split", "--data_path", "--features_path", "--output_dir",
              "--pretrained_clip_name", "--clip_checkpoint", "--sim_header", "--device"}


def card_section() -> str:
    with open(os.path.join(REPO, "docs", "recipe.md")) as handle:
        return handle.read()


def card_rows():
    rows = []
    for line in card_section().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`train_"):
            heads = re.findall(r"`(\w+)`", cells[1])
            rows.append((cells[0].strip("`"), heads, shlex.split(cells[3].strip("`"))))
    return rows


def as_pairs(argv):
    """Flags -> values (the last one wins, as with argparse); a flag without a value maps to True."""
    pairs, index = {}, 0
    while index < len(argv):
        flag = argv[index]
        has_value = index + 1 < len(argv) and not argv[index + 1].startswith("--")
        pairs[flag] = argv[index + 1] if has_value else True
        index += 2 if has_value else 1
    return pairs


def launched_arguments(launcher, head, tmp_path):
    stub = tmp_path / "python"
    stub.write_text("#!/bin/sh\nprintf '%s\\n' \"$@\"\n")
    stub.chmod(0o755)
    env = dict(os.environ, PYTHON=str(stub), DEVICE="cpu", GPUS_PER_NODE="1", DATA_ROOT=str(tmp_path),
               CLIP_CHECKPOINT="",
               HEAD=head, OUTPUT_DIR=str(tmp_path / "out"))
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", launcher)], env=env, capture_output=True,
                            text=True, check=True)
    argv = result.stdout.splitlines()
    return argv[argv.index(os.path.join(REPO, "main_task_retrieval.py")) + 1:]


CARD = card_rows()


def test_the_card_covers_every_training_launcher_and_head():
    launchers = {name for name in os.listdir(os.path.join(REPO, "scripts")) if name.startswith("train_")}
    assert {launcher for launcher, _, _ in CARD} == launchers
    for launcher in launchers:
        heads = [head for name, row_heads, _ in CARD if name == launcher for head in row_heads]
        assert sorted(heads) == sorted(["meanP", "seqTransf", "dllfa", "xpool"]), launcher


@pytest.mark.parametrize("launcher,heads,card_flags", CARD, ids=[f"{row[0]}:{row[1][0]}" for row in CARD])
def test_each_launcher_passes_its_card_row(launcher, heads, card_flags, tmp_path):
    for head in heads:
        argv = launched_arguments(launcher, head, tmp_path)
        recipe = {flag: value for flag, value in as_pairs(argv).items() if flag not in NOT_RECIPE}
        assert recipe == as_pairs(card_flags), (launcher, head)
        get_args(argv)  # the CLI accepts every flag and value


def test_the_card_shows_the_effective_step_benchmark():
    block = card_section().split("<!-- BEGIN generated: bench/optimizer_step.md -->\n", 1)[1]
    block = block.split("<!-- END generated: bench/optimizer_step.md -->", 1)[0]
    with open(os.path.join(REPO, "bench", "optimizer_step.md")) as handle:
        assert block == handle.read()  # what `make bench` wrote, pasted by `make docs`
