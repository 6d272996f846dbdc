"""The one exception type for bad user input (files, ids, flags).

Anything raised as `InputError` is a problem with what the user gave us, not a bug: the
command line prints its message without a traceback and exits with status 2.

An InputError raised inside a DataLoader worker reaches the main process re-built by
PyTorch (`torch._utils.ExceptionWrapper.reraise`) from one string: "Caught InputError in
DataLoader worker process N.", then the worker's whole traceback, whose last line is
"modules.errors.InputError: <message>". The constructor recognises that form and keeps
only the original message, so the user sees the same line with or without workers.
"""

WORKER_PREFIX = "Caught "  # how ExceptionWrapper.reraise starts a re-built exception's message
TRACEBACK_MARKER = "Original Traceback (most recent call last):"


class InputError(Exception):
    """Bad input: a missing or malformed file, an unknown id, a mismatched checkpoint."""

    def __init__(self, message: str = ""):
        super().__init__(self._original_message(str(message)))

    @classmethod
    def _original_message(cls, message: str) -> str:
        """The message of the worker's exception if `message` is a DataLoader re-raise of it."""
        last_line_prefix = f"{cls.__module__}.{cls.__qualname__}: "
        if message.startswith(WORKER_PREFIX) and TRACEBACK_MARKER in message and last_line_prefix in message:
            return message[message.rindex(last_line_prefix) + len(last_line_prefix):].strip()
        return message


WEIGHTS_ONLY_REFUSAL = "Weights only load failed"  # the generic first paragraph of torch.load's refusal


REFUSED_OBJECT_LINES = ("WeightsUnpickler error: ", "Trying to load ")  # where that refusal names the object


def error_summary(error: BaseException) -> str:
    """`Type: the line that says what went wrong`, for a one-line message about a file that could
    not be read: the message's first line, except for torch.load's weights_only refusal, whose
    first lines are generic advice: there, the first sentence of the line naming the refused object."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    line = lines[0] if lines else ""
    if line.startswith(WEIGHTS_ONLY_REFUSAL):
        named = [other for other in lines[1:] if other.startswith(REFUSED_OBJECT_LINES)]
        if named:
            line = named[0].removeprefix(REFUSED_OBJECT_LINES[0]).split(". ")[0].rstrip(".") + "."
    return f"{type(error).__name__}: {line}"
