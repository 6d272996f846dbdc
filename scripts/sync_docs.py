"""`make docs`: copy the results that `make demo`, `make bench`, `make feature-bench` and `make
ablations` wrote under runs/ into the repository, and paste them into the docs pages.

The commands that produce results write only under runs/ (ignored by git); this is the one
step that rewrites tracked files, run when the new numbers should become the documented ones.

1. Copies (`COPIES`: runs/ file -> tracked file), each one whose source exists: the benchmark
   tables and their JSON under bench/, the demo's figures under img/.
2. Pastes: a section of README.md or docs/*.md between `<!-- BEGIN generated: PATH -->` and
   `<!-- END generated: PATH -->` is replaced by the content of PATH (relative to the
   repository), when PATH exists; the rest of the page is left as it is.

    python -m scripts.sync_docs
"""
import filecmp
import glob
import os
import re
import shutil
import sys
from typing import List, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTION = re.compile(r"(<!-- BEGIN generated: (?P<path>\S+) -->\n)(?P<body>.*?)(<!-- END generated: (?P=path) -->)",
                     re.DOTALL)
# (written by a command under runs/, its tracked copy): what the docs cite and show.
COPIES: Tuple[Tuple[str, str], ...] = (
    ("runs/bench/results.md", "bench/results.md"),                      # python -m bench.run_all
    ("runs/bench/results.json", "bench/results.json"),
    ("runs/bench/optimizer_step.md", "bench/optimizer_step.md"),
    ("runs/feature_level/results.md", "bench/feature_level_results.md"),  # python -m bench.feature_level
    ("runs/feature_level/results.json", "bench/feature_level_results.json"),
    ("runs/demo/img/demo_curves.png", "img/demo_curves.png"),           # scripts/demo.sh
    ("runs/demo/img/demo_attention.png", "img/demo_attention.png"),
    ("runs/demo/img/dllfa_architecture.png", "img/dllfa_architecture.png"),
)


def sync(page_text: str, repo: str) -> Tuple[str, List[str]]:
    """page_text with every generated section replaced by its file's content -> (text, paths pasted)."""
    updated = []

    def replace(match):
        path = os.path.join(repo, match.group("path"))
        if not os.path.isfile(path):
            return match.group(0)
        with open(path) as handle:
            content = handle.read()
        updated.append(match.group("path"))
        return match.group(1) + content.rstrip("\n") + "\n" + match.group(4)

    return SECTION.sub(replace, page_text), updated


def copy_results(repo: str) -> List[str]:
    """Copy each COPIES source that exists onto its tracked path -> the tracked paths that changed."""
    changed = []
    for source, target in COPIES:
        source_path, target_path = os.path.join(repo, source), os.path.join(repo, target)
        if os.path.isfile(source_path) and not (os.path.isfile(target_path)
                                                and filecmp.cmp(source_path, target_path, shallow=False)):
            shutil.copyfile(source_path, target_path)
            changed.append(target)
    return changed


def pages(repo: str) -> List[str]:
    return [os.path.join(repo, "README.md")] + sorted(glob.glob(os.path.join(repo, "docs", "*.md")))


def main() -> int:
    copied = copy_results(REPO)
    print("copied: " + (", ".join(copied) if copied else "nothing new under runs/"))
    for page in pages(REPO):
        with open(page) as handle:
            old = handle.read()
        text, pasted = sync(old, REPO)
        if text != old:
            with open(page, "w") as handle:
                handle.write(text)
        if pasted:
            print(f"{os.path.relpath(page, REPO)}: pasted {', '.join(pasted)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
