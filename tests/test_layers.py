"""The folders are layers: modules/ (the model) <- dataloaders/ (the data) <- driver/ (the engine)
<- main_task_retrieval.py, scripts/, bench/, preprocess/ (commands). Every import of every file
(lazy ones inside functions too) is read with `ast` and must point down or within its own
package; no product file imports tests/. Only modules/clip_weights/ reads TorchScript archives,
talks to open_clip's pretrained registry or downloads; no library module has a `__main__` block."""
import ast
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = {"modules": 0, "dataloaders": 1, "driver": 2,
          "main_task_retrieval": 3, "scripts": 3, "bench": 3, "preprocess": 3}
LIBRARIES = ("modules", "dataloaders", "driver")
CLIP_WEIGHTS = os.path.join("modules", "clip_weights") + os.sep
# Imports that read TorchScript archives, reach open_clip's pretrained registry, or download.
WEIGHTS_AND_NETWORK = ("torch.jit", "modules.clip_weights.torchscript_archive", "open_clip.pretrained",
                       "huggingface_hub", "urllib.request", "requests", "http.client")


def product_files():
    """(path relative to the repository, parsed module) of every Python file outside tests/."""
    found = [os.path.join(REPO, "main_task_retrieval.py")]
    for package in LAYERS:
        for root, _, names in os.walk(os.path.join(REPO, package)):
            found += [os.path.join(root, name) for name in names if name.endswith(".py")]
    for path in sorted(found):
        with open(path) as handle:
            yield os.path.relpath(path, REPO), ast.parse(handle.read(), path)


def imported_modules(tree: ast.Module):
    """(line, dotted name) of every import in `tree`: `from a.b import c` gives a.b and a.b.c."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def attribute_chains(tree: ast.Module):
    """(line, dotted name) of every attribute chain such as `open_clip.pretrained.get_pretrained_cfg`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                parts.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name):
                yield node.lineno, ".".join([value.id, *reversed(parts)])


def package_of(path: str) -> str:
    return path.split(os.sep)[0].removesuffix(".py")


def is_under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


FILES = list(product_files())


def test_the_walk_sees_every_layer():
    assert {package_of(path) for path, _ in FILES} == set(LAYERS)


@pytest.mark.parametrize("path,tree", FILES, ids=[path for path, _ in FILES])
def test_imports_point_down_the_layers(path, tree):
    own = package_of(path)
    wrong = []
    for line, name in imported_modules(tree):
        target = name.split(".")[0]
        if target == "tests":
            wrong.append(f"line {line}: {name} (product code imports no tests)")
        elif target in LAYERS and target != own and LAYERS[target] >= LAYERS[own] and LAYERS[own] < 3:
            wrong.append(f"line {line}: {name} ({own}/ is below {target})")
    assert not wrong, f"{path}: " + "; ".join(wrong)


@pytest.mark.parametrize("path,tree", FILES, ids=[path for path, _ in FILES])
def test_only_clip_weights_reads_archives_and_downloads(path, tree):
    if path.startswith(CLIP_WEIGHTS):
        return
    names = [*imported_modules(tree), *attribute_chains(tree)]
    found = sorted({f"line {line}: {name}" for line, name in names
                    if any(is_under(name, banned) for banned in WEIGHTS_AND_NETWORK)})
    assert not found, f"{path}: " + "; ".join(found)


@pytest.mark.parametrize("path,tree", [(p, t) for p, t in FILES if package_of(p) in LIBRARIES],
                         ids=[p for p, _ in FILES if package_of(p) in LIBRARIES])
def test_library_modules_have_no_main_block(path, tree):
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) \
                and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__":
            pytest.fail(f"{path} line {node.lineno}: a __main__ block; commands live in preprocess/ or scripts/")
