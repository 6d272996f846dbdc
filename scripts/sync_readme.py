"""Paste generated results into README.md, so that its numbers are the ones a command printed.

A README section between `<!-- BEGIN generated: PATH -->` and `<!-- END generated: PATH -->`
is replaced by the content of PATH (relative to the repository), when PATH exists:
bench/results.md (`make bench`) and runs/demo/summary.md (`make demo`).

    python scripts/sync_readme.py
"""
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTION = re.compile(r"(<!-- BEGIN generated: (?P<path>\S+) -->\n)(?P<body>.*?)(<!-- END generated: (?P=path) -->)",
                     re.DOTALL)


def sync(readme_text: str, repo: str) -> tuple:
    updated = []

    def replace(match):
        path = os.path.join(repo, match.group("path"))
        if not os.path.isfile(path):
            return match.group(0)
        with open(path) as handle:
            content = handle.read()
        updated.append(match.group("path"))
        return match.group(1) + content.rstrip("\n") + "\n" + match.group(4)

    return SECTION.sub(replace, readme_text), updated


def main() -> int:
    readme = os.path.join(REPO, "README.md")
    with open(readme) as handle:
        text, updated = sync(handle.read(), REPO)
    with open(readme, "w") as handle:
        handle.write(text)
    print("README.md: updated " + (", ".join(updated) if updated else "nothing (no generated results found)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
