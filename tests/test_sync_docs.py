"""`make docs` (scripts/sync_docs.py) is the one step that writes results into tracked files: it copies
what the results commands wrote under runs/ and pastes generated sections; the commands themselves
write under runs/ only."""
import glob
import os
import re
import subprocess
import sys

from scripts import sync_docs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PAGE = """# Title
<!-- BEGIN generated: results/table.md -->
old numbers
<!-- END generated: results/table.md -->
hand-written text
<!-- BEGIN generated: results/missing.md -->
kept until the file exists
<!-- END generated: results/missing.md -->
"""


def test_generated_sections_take_the_file_content_and_the_rest_stays(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "table.md").write_text("| a | b |\n|---|---|\n| 1 | 2 |\n\n")
    text, updated = sync_docs.sync(PAGE, str(tmp_path))
    assert updated == ["results/table.md"]
    assert "old numbers" not in text and "| 1 | 2 |\n<!-- END generated: results/table.md -->" in text
    assert "hand-written text" in text and "kept until the file exists" in text
    assert sync_docs.sync(text, str(tmp_path))[0] == text  # idempotent


def test_copies_take_what_exists_under_runs_and_report_only_changes(tmp_path):
    (source, target), (missing, kept) = sync_docs.COPIES[0], sync_docs.COPIES[1]
    (tmp_path / source).parent.mkdir(parents=True)
    (tmp_path / source).write_text("new table\n")
    (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / target).write_text("old table\n")
    (tmp_path / kept).write_text("kept\n")
    assert sync_docs.copy_results(str(tmp_path)) == [target]
    assert (tmp_path / target).read_text() == "new table\n" and (tmp_path / kept).read_text() == "kept\n"
    assert sync_docs.copy_results(str(tmp_path)) == []  # same content: nothing to copy


def generated_sections():
    """(page, path, body) of every generated section of README.md and docs/*.md."""
    for page in sync_docs.pages(REPO):
        with open(page) as handle:
            for match in sync_docs.SECTION.finditer(handle.read()):
                yield os.path.relpath(page, REPO), match.group("path"), match.group("body")


def test_every_result_the_docs_show_has_its_section_and_tracked_sections_equal_their_file():
    found = {path: page for page, path, _ in generated_sections()}
    assert found == {"bench/results.md": "docs/performance.md", "bench/optimizer_step.md": "docs/recipe.md",
                     "bench/feature_level_results.md": "docs/feature_benchmark.md",
                     "runs/demo/summary.md": "docs/demo.md", "runs/demo_seeds/seeds.md": "docs/demo.md",
                     "runs/demo_seeds_more/seeds.md": "docs/demo.md", "runs/ablations/ablations.md": "docs/demo.md"}
    targets = {target for _, target in sync_docs.COPIES}
    for page, path, body in generated_sections():
        if not path.startswith("runs/"):
            assert path in targets, path
            with open(os.path.join(REPO, path)) as handle:
                assert body == handle.read(), (page, path)  # what `make docs` pasted from the tracked copy
    for target in targets:
        assert os.path.isfile(os.path.join(REPO, target)), target


def test_only_make_docs_writes_tracked_files():
    with open(os.path.join(REPO, "Makefile")) as handle:
        makefile = handle.read()
    recipes = dict(re.findall(r"^([\w-]+):[^\n]*\n((?:\t[^\n]*\n)*)", makefile, re.MULTILINE))
    assert [target for target, recipe in recipes.items() if "sync_docs" in recipe] == ["docs"]
    for target in ("demo", "demo-seeds", "bench", "feature-bench", "ablations"):
        assert target in recipes and "sync_docs" not in recipes[target]
    # their defaults write under runs/, which git ignores
    assert 'DEMO_IMG="${DEMO_IMG:-$DEMO_DIR/img}"' in open(os.path.join(REPO, "scripts", "demo.sh")).read()
    from bench.feature_level.__main__ import parse_args
    assert parse_args([]).output == os.path.join(REPO, "runs", "feature_level", "results")
    help_text = subprocess.run([sys.executable, "-m", "bench.run_all", "--help"], cwd=REPO, capture_output=True,
                               text=True, check=True).stdout
    assert os.path.join(REPO, "runs", "bench") in " ".join(help_text.split())
    ignored = subprocess.run(["git", "check-ignore", "-q", "runs/bench/results.md"], cwd=REPO).returncode
    assert ignored == 0


def test_the_sources_of_the_copies_are_what_the_commands_write():
    sources = {source for source, _ in sync_docs.COPIES}
    assert sources == {"runs/bench/results.md", "runs/bench/results.json", "runs/bench/optimizer_step.md",
                       "runs/feature_level/results.md", "runs/feature_level/results.json",
                       *(f"runs/demo/img/{os.path.basename(path)}" for path in glob.glob(os.path.join(REPO, "img", "*.png")))}
