"""Read the weights of a TorchScript archive (OpenAI's CLIP `.pt` files) without running it.

`torch.jit.load` compiles the archive's code and runs it: a module's `__setstate__` is
TorchScript from the file, so loading an archive runs whatever its author wrote (a crafted
archive can write a file that way). Weights need none of that code. This reader takes
the archive apart as data.

The format (a zip with one top folder `<name>/`, as `torch.jit.save` writes it):

- `<name>/data.pkl`: a pickle of the module tree. Each module is an object of a class named
  `__torch__.<python module>[.___torch_mangle_N].<Class>`, made with NEWOBJ and filled by BUILD
  with a dict of all its attributes: parameters, buffers, submodules (objects again), `training`
  and other plain values. A tensor is `torch._utils._rebuild_tensor_v2(storage, offset, size,
  stride, requires_grad, OrderedDict())`; its storage is the persistent id
  `("storage", torch.<Type>Storage, key, location, numel)`, whose bytes are `<name>/data/<key>`.
- `<name>/code/__torch__/<python module path>.py`: the TorchScript source of each class. Its
  first lines declare which attributes are parameters and which are buffers
  (`__parameters__ = ["weight", "bias", ]`, `__buffers__ = [...]`); the state dict is exactly
  those, named by the module path (`visual.conv1.weight`), as `ScriptModule.state_dict()` gives.
- `<name>/constants.pkl` + `constants/`: tensors the code uses as constants (OpenAI's causal
  mask lives there), not weights: not read. `version`, `byteorder`, `*.debug_pkl`, `extra/`,
  `traced_inputs.pkl`: not needed either.

A `torch.save` file differs: its data.pkl holds the caller's object (usually a dict of tensors,
parameters via `_rebuild_parameter`), no `__torch__` classes and no code; `torch.load(...,
weights_only=True)` reads those.

Scripted (not traced) modules also keep typed lists and dicts as attributes, through the
identity helpers of `torch/jit/_pickle.py` (`build_intlist(list)`, `restore_type_tag(value, type)`).

Why it is safe: the unpickler resolves these names only. `__torch__.*` classes become inert
`ScriptObject` records (their `__setstate__` is ours and only stores the state);
`_rebuild_tensor_v2` and `OrderedDict` (its empty backward-hook argument) become functions that
record a range of a storage; `torch.<Type>Storage` names become dtypes; the `torch.jit._pickle`
helpers become an identity function of ours. Every other global
(`os.system`, `builtins.eval`, `torch.load`, ...) stops the read with an error: nothing from the
file is ever called. Code files are read as text; only the two declaration lines are parsed,
with `ast.literal_eval`, which accepts literals and nothing else. Each storage's size is checked
against its zip entry, and each tensor's extent against its storage.
"""
import ast
import io
import pickle
import re
import zipfile
from dataclasses import dataclass
from typing import Dict, Iterator, List, Tuple

import torch

from modules.errors import InputError

STORAGE_DTYPES = {
    "FloatStorage": torch.float32, "HalfStorage": torch.float16, "BFloat16Storage": torch.bfloat16,
    "DoubleStorage": torch.float64, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}
_MODULE_NAME = re.compile(r"__torch__(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def is_torchscript_archive(path: str) -> bool:
    """A zip whose top folder holds a `code/` folder (torch.save files have none)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.count("/") >= 2 and name.split("/")[1] == "code" for name in archive.namelist())


class ScriptObject:
    """An object of a TorchScript class, as data: `module` + `name` say the class, `state` is what
    the pickle gave it (a dict of attributes for a module)."""
    module = name = ""
    state: object = None

    def __setstate__(self, state):
        self.state = state


@dataclass(frozen=True)
class StorageRef:
    key: str
    dtype: torch.dtype
    numel: int


@dataclass(frozen=True)
class TensorRef:
    """A tensor as `_rebuild_tensor_v2` describes it, not yet read from the archive."""
    storage: StorageRef
    offset: int
    size: Tuple[int, ...]
    stride: Tuple[int, ...]


def _int_tuple(value, what: str) -> Tuple[int, ...]:
    if not isinstance(value, tuple) or not all(isinstance(v, int) and v >= 0 for v in value):
        raise pickle.UnpicklingError(f"tensor {what} is not a tuple of non-negative integers: {value!r}")
    return value


def _tensor_ref(storage, offset, size, stride, requires_grad, backward_hooks, metadata=None) -> TensorRef:
    if not isinstance(storage, StorageRef) or not isinstance(offset, int) or offset < 0:
        raise pickle.UnpicklingError("a tensor without a storage of the archive")
    if backward_hooks or metadata:
        raise pickle.UnpicklingError("a tensor with backward hooks or extra metadata")
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    if len(size) != len(stride):
        raise pickle.UnpicklingError(f"tensor size {size} and stride {stride} differ in length")
    if all(size) and offset + sum((n - 1) * s for n, s in zip(size, stride)) >= storage.numel:
        raise pickle.UnpicklingError(f"tensor {size} at offset {offset} reaches past its storage of {storage.numel}")
    return TensorRef(storage, offset, size, stride)


def _empty_hooks() -> dict:
    return {}


def _typed_value(value, *type_tag):
    """`torch.jit._pickle.build_intlist(list)`, `restore_type_tag(value, type)`, ...: the scripted
    modules' way to keep a list's or dict's static type; the value itself is plain data."""
    return value


# The helpers of torch/jit/_pickle.py that data.pkl may name; each is replaced by `_typed_value`.
_TYPED_VALUE_HELPERS = ("build_intlist", "build_tensorlist", "build_doublelist", "build_boollist", "restore_type_tag")


class _WeightsUnpickler(pickle.Unpickler):
    """Unpickler of `data.pkl` that resolves only what a module tree of tensors needs."""

    def __init__(self, file):
        super().__init__(file)
        self._classes: Dict[Tuple[str, str], type] = {}

    def find_class(self, module, name):
        if _MODULE_NAME.match(module) and name.isidentifier():
            if (module, name) not in self._classes:
                self._classes[module, name] = type(name, (ScriptObject,), {"module": module, "name": name})
            return self._classes[module, name]
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _tensor_ref
        if (module, name) == ("collections", "OrderedDict"):
            return _empty_hooks
        if module == "torch.jit._pickle" and name in _TYPED_VALUE_HELPERS:
            return _typed_value
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"refers to {module}.{name}, which weights never need")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], torch.dtype) and isinstance(pid[2], str) and isinstance(pid[4], int)):
            raise pickle.UnpicklingError(f"unknown persistent id {str(pid)[:80]}")
        return StorageRef(key=pid[2], dtype=pid[1], numel=pid[4])


class TorchScriptArchive:
    """The module tree of an archive, read as data; `state_dict()` reads the tensors. A context
    manager (closes the file)."""

    def __init__(self, path: str):
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
            pickles = [n for n in self._zip.namelist() if n.count("/") == 1 and n.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise InputError(f"{path}: not a TorchScript archive (no single <name>/data.pkl)")
            self._root = pickles[0].split("/")[0]
            self.module_tree = _WeightsUnpickler(io.BytesIO(self._zip.read(pickles[0]))).load()
        except InputError:
            raise
        except Exception as error:  # refused or malformed: whatever the pickle tried, it stops here
            raise InputError(f"{path}: refused to read this TorchScript archive: its data.pkl {error}") from None
        if not isinstance(self.module_tree, ScriptObject):
            raise InputError(f"{path}: not a TorchScript module (data.pkl holds a {type(self.module_tree).__name__})")
        self._declarations: Dict[str, Dict[str, Tuple[List[str], List[str]]]] = {}
        self._storages: Dict[str, torch.Tensor] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._zip.close()

    def modules(self) -> Iterator[Tuple[str, ScriptObject]]:
        """(dotted path, module) for the whole tree, root first ("" is the root)."""
        stack, seen = [("", self.module_tree)], set()
        while stack:
            path, module = stack.pop()
            if id(module) in seen:  # a pickle can make cycles; a module tree has none
                raise InputError(f"{self.path}: not a weights archive: the module at {path!r} appears twice")
            seen.add(id(module))
            if not isinstance(module.state, dict):
                raise InputError(f"{self.path}: not a weights archive: {module.module}.{module.name} restores "
                                 "itself with its own __setstate__ code (never run here), where modules that "
                                 "hold weights store a dict of attributes")
            yield path, module
            children = [(f"{path}.{key}" if path else key, value) for key, value in module.state.items()
                        if isinstance(value, ScriptObject)]
            stack.extend(reversed(children))

    def _declared(self, module: ScriptObject) -> Tuple[List[str], List[str]]:
        """(parameter names, buffer names) that the class's code declares."""
        if module.module not in self._declarations:
            name = f"{self._root}/code/{module.module.replace('.', '/')}.py"
            try:
                source = self._zip.read(name).decode("utf-8")
            except KeyError:
                raise InputError(f"{self.path}: no code for class {module.module}.{module.name} ({name})") from None
            self._declarations[module.module] = _parse_declarations(source, name, self.path)
        declared = self._declarations[module.module].get(module.name)
        if declared is None:
            raise InputError(f"{self.path}: class {module.name} is not declared in the code of {module.module}")
        return declared

    def module_classes(self) -> Dict[str, str]:
        """{dotted module path: class name} ("" is the root), e.g. {"transformer.resblocks.0.mlp.gelu": "QuickGELU"}."""
        return {path: module.name for path, module in self.modules()}

    def tensor_refs(self) -> Dict[str, TensorRef]:
        """The state dict without reading storages: parameters and buffers by dotted name."""
        refs = {}
        for path, module in self.modules():
            parameters, buffers = self._declared(module)
            for key in parameters + buffers:
                value = module.state.get(key)
                if isinstance(value, TensorRef):
                    refs[f"{path}.{key}" if path else key] = value
                elif value is not None:
                    raise InputError(f"{self.path}: {path or 'the root module'}.{key} is declared a tensor "
                                     f"but holds a {type(value).__name__}")
        return refs

    def _storage(self, ref: StorageRef) -> torch.Tensor:
        if ref.key not in self._storages:
            name = f"{self._root}/data/{ref.key}"
            try:
                info = self._zip.getinfo(name)
            except KeyError:
                raise InputError(f"{self.path}: storage {name} is missing") from None
            if info.file_size != ref.numel * ref.dtype.itemsize:
                raise InputError(f"{self.path}: storage {name} holds {info.file_size} bytes, "
                                 f"{ref.numel} x {ref.dtype} expected")
            raw = bytearray(self._zip.read(name))
            flat = torch.frombuffer(raw, dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
            self._storages[ref.key] = flat.view(ref.dtype)
        return self._storages[ref.key]

    def state_dict(self) -> Dict[str, torch.Tensor]:
        byteorder = f"{self._root}/byteorder"
        if byteorder in self._zip.namelist() and self._zip.read(byteorder).strip() not in (b"", b"little"):
            raise InputError(f"{self.path}: big-endian archives are not supported")
        return {name: self._storage(ref.storage).as_strided(ref.size, ref.stride, ref.offset)
                for name, ref in self.tensor_refs().items()}


def _parse_declarations(source: str, name: str, path: str) -> Dict[str, Tuple[List[str], List[str]]]:
    """{class: (parameters, buffers)} from the `__parameters__` / `__buffers__` lines of a code file."""
    declarations, current = {}, None
    for line in source.splitlines():
        match = re.match(r"class ([A-Za-z_][A-Za-z0-9_]*)\b", line)
        if match:
            current = match.group(1)
            declarations[current] = ([], [])
            continue
        match = re.match(r"  (__parameters__|__buffers__) = (\[.*\])\s*$", line)
        if current and match:
            try:
                names = ast.literal_eval(match.group(2))
            except (ValueError, SyntaxError):
                names = None
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise InputError(f"{path}: unreadable declaration in {name}: {line.strip()[:80]}")
            declarations[current][0 if match.group(1) == "__parameters__" else 1].extend(names)
    return declarations
