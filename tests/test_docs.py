"""What README.md and docs/*.md tell a user to use exists: every repository path they name (in links,
in code or in prose), every `make` target and every `python -m` module in their commands."""
import glob
import importlib.util
import os
import re
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md"] + sorted(os.path.relpath(path, REPO) for path in glob.glob(os.path.join(REPO, "docs", "*.md")))
FOLDERS = ("modules", "dataloaders", "driver", "preprocess", "scripts", "bench", "tests", "docs", "img")
# Paths and modules that another branch creates (the docs name them already).
# Each entry must be missing: once it exists, the test says so and the entry goes.
ALLOWED_MISSING: set = set()

URL = re.compile(r"https?://\S+")
LINK = re.compile(r"\]\(([^)\s]+)\)")
PATH = re.compile(r"(?<![\w./~$-])((?:%s)/[\w.*<>{},/-]*)" % "|".join(FOLDERS))
CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)
MAKE = re.compile(r"(?<![\w-])make\s+([\w-]+)")
MODULE = re.compile(r"python\S*\s+-m\s+(\w+(?:\.\w+)*)(?![\w.<])")  # not `scripts.<name>`


def read(page):
    with open(os.path.join(REPO, page)) as handle:
        return handle.read()


def expand(pattern):
    """`a/{b,c}.md` -> [`a/b.md`, `a/c.md`]; `<name>` placeholders become `*`."""
    pattern = re.sub(r"<[^>]*>", "*", pattern)
    braces = re.search(r"\{([^{}]*)\}", pattern)
    if not braces:
        return [pattern]
    return [expanded for choice in braces.group(1).split(",")
            for expanded in expand(pattern[:braces.start()] + choice + pattern[braces.end():])]


def exists(path):
    return all(glob.glob(os.path.join(REPO, candidate)) for candidate in expand(path))


def named_paths(page):
    text = URL.sub("", read(page))
    paths = set()
    for target in LINK.findall(text):
        target = target.split("#")[0]
        if target:
            paths.add(os.path.normpath(os.path.join(os.path.dirname(page), target)))
    for path in PATH.findall(text):
        path = re.sub(r":[\d-]+$", "", path.rstrip(".,;:"))
        paths.add(path)
    return paths


def code(page):
    return "\n".join(CODE.findall(read(page)))


def module_exists(name):
    top = name.split(".")[0]
    if top in FOLDERS:
        base = os.path.join(REPO, *name.split("."))
        return os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__main__.py"))
    return importlib.util.find_spec(top) is not None


@pytest.mark.parametrize("page", PAGES)
def test_every_repository_path_exists(page):
    missing = sorted(path for path in named_paths(page) if path not in ALLOWED_MISSING and not exists(path))
    assert not missing, f"{page} names paths that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_every_make_target_and_module_exists(page):
    with open(os.path.join(REPO, "Makefile")) as handle:
        targets = set(re.findall(r"^([\w-]+):", handle.read(), re.MULTILINE))
    commands = code(page)
    assert not sorted(set(MAKE.findall(commands)) - targets), f"{page}: unknown make targets"
    missing = sorted(name for name in set(MODULE.findall(commands))
                     if name not in ALLOWED_MISSING and not module_exists(name))
    assert not missing, f"{page} runs modules that do not exist: {missing}"


def test_the_allowlist_holds_only_what_is_still_missing():
    present = sorted(name for name in ALLOWED_MISSING if exists(name) or ("/" not in name and module_exists(name)))
    assert not present, f"these exist now: remove them from ALLOWED_MISSING: {present}"


def test_the_readme_is_an_entry_point():
    readme = read("README.md")
    assert len(readme.splitlines()) < 300
    for section in ("## Status", "## Install", "## The two commands", "## Reproduce on real data",
                    "## The method in brief", "## Evidence", "## Layout", "## Citation", "## License"):
        assert section in readme, section
    assert "unofficial" in readme.lower() and os.path.isfile(os.path.join(REPO, "LICENSE"))


def test_the_checker_finds_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO", str(tmp_path))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "x.md").write_text("see [a](../img/none.png), `scripts/gone.sh`, `bench/{a,b}.md`, "
                                            "(scripts/train_*.sh) and https://example.com/scripts/remote.sh\n")
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "a.md").write_text("")
    paths = named_paths("docs/x.md")
    assert paths == {"img/none.png", "scripts/gone.sh", "bench/{a,b}.md", "scripts/train_*.sh"}
    assert not any(exists(path) for path in paths)
    (tmp_path / "bench" / "b.md").write_text("")
    assert exists("bench/{a,b}.md")
