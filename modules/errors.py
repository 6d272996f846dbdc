"""The one exception type for bad user input (files, ids, flags).

Anything raised as `InputError` is a problem with what the user gave us, not a bug: the
command line prints its message without a traceback and exits with status 2.
"""


class InputError(Exception):
    """Bad input: a missing or malformed file, an unknown id, a mismatched checkpoint."""
