"""Unpickle a downloaded file that may only hold built-in containers, strings and numbers.

`pickle.load` on a downloaded file can run arbitrary code (any importable callable can be
named in the stream). This unpickler refuses every global except a few harmless built-in
types, so a crafted file fails with an error instead of executing.

A damaged or crafted file can also declare a string or bytes object far longer than the
file (e.g. BINBYTES8 with 2**60 bytes); CPython's unpickler allocates the declared length
before it reads. The file is therefore read whole (at most MAX_PICKLE_BYTES; MSVD's captions
are a few MB) and unpickled from memory, where a declared length that can be allocated but
is not there is "truncated", and one that cannot be allocated (MemoryError) is reported as
such. (Checking every opcode's length first with `pickletools.genops` would be exact too,
but takes 4x the load time in pure Python.)
"""
import io
import os
import pickle

from modules.errors import InputError

ALLOWED_BUILTINS = frozenset({"dict", "list", "tuple", "set", "frozenset", "str", "bytes", "int", "float", "bool"})
MAX_PICKLE_BYTES = 1 << 30


class _BuiltinOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module in ("builtins", "__builtin__") and name in ALLOWED_BUILTINS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only built-in containers and strings allowed")


def load_builtin_pickle(path: str, dataset: str) -> object:
    size = os.path.getsize(path)
    if size > MAX_PICKLE_BYTES:
        raise InputError(f"{dataset}: {path}: {size} bytes, more than the {MAX_PICKLE_BYTES} an annotation pickle "
                         "may have; not the dataset's file?")
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return _BuiltinOnlyUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, OverflowError) as error:
        raise InputError(f"{dataset}: {path}: not a plain pickle of built-in data ({error})") from None
    except MemoryError:
        raise InputError(f"{dataset}: {path}: not a plain pickle of built-in data (it declares an object larger "
                         f"than memory in a {size}-byte file: damaged, or not the dataset's file)") from None
