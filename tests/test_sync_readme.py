"""README sections marked as generated are replaced by the file they name, and only those."""
import importlib.util
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("sync_readme", os.path.join(REPO, "scripts", "sync_readme.py"))
sync_readme = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sync_readme)

README = """# Title
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
    text, updated = sync_readme.sync(README, str(tmp_path))
    assert updated == ["results/table.md"]
    assert "old numbers" not in text and "| 1 | 2 |\n<!-- END generated: results/table.md -->" in text
    assert "hand-written text" in text and "kept until the file exists" in text
    assert sync_readme.sync(text, str(tmp_path))[0] == text  # idempotent


def test_the_readme_has_both_generated_sections():
    with open(os.path.join(REPO, "README.md")) as handle:
        readme = handle.read()
    for path in ("runs/demo/summary.md", "bench/results.md"):
        assert f"<!-- BEGIN generated: {path} -->" in readme and f"<!-- END generated: {path} -->" in readme
