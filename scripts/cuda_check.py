"""The launchers' GPU check: `python -m scripts.cuda_check` prints how many CUDA devices this
torch can use, or one line saying why it can use none (no GPU visible, a driver too old for the
CUDA that this torch build was made for, a torch build without CUDA) and exits with status 2.
The launchers run it before torchrun, so that a machine without a usable GPU never trains on
the CPU by accident; `DEVICE=cpu` asks for the CPU on purpose."""
import os
import sys
import warnings
from typing import Tuple

import torch


def usable_cuda_devices() -> Tuple[int, str]:
    """(number of usable CUDA devices, why there is none: '' when there are some)."""
    build = f"torch {torch.__version__}, built for CUDA {torch.version.cuda}"
    if torch.version.cuda is None:
        return 0, f"torch {torch.__version__} is a build without CUDA; install a CUDA build of torch"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = torch.cuda.is_available()
        count = torch.cuda.device_count() if available else 0
    if count:
        return count, ""
    said = " ".join(" ".join(str(warning.message).split()) for warning in caught)
    if said:
        return 0, f"{build}; torch.cuda says: {said}"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    where = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
    return 0, f"no GPU visible{where}; {build}"


def main() -> int:
    count, why = usable_cuda_devices()
    if not count:
        print(f"error: no usable CUDA device: {why}. Set DEVICE=cpu to run on the CPU on purpose", file=sys.stderr)
        return 2
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
