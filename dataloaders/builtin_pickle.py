"""Unpickle a downloaded file that may only hold built-in containers, strings and numbers.

`pickle.load` on a downloaded file can run arbitrary code (any importable callable can be
named in the stream). This unpickler refuses every global except a few harmless built-in
types, so a crafted file fails with an error instead of executing.
"""
import pickle

from modules.errors import InputError

ALLOWED_BUILTINS = frozenset({"dict", "list", "tuple", "set", "frozenset", "str", "bytes", "int", "float", "bool"})


class _BuiltinOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module in ("builtins", "__builtin__") and name in ALLOWED_BUILTINS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only built-in containers and strings allowed")


def load_builtin_pickle(path: str, dataset: str) -> object:
    try:
        with open(path, "rb") as handle:
            return _BuiltinOnlyUnpickler(handle).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise InputError(f"{dataset}: {path}: not a plain pickle of built-in data ({error})") from None
