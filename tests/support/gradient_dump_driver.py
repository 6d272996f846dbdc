"""main_task_retrieval.py with the gradients of its first optimizer step saved, for the
1-process-equals-2-processes tests: `torchrun ... -m tests.support.gradient_dump_driver FLAGS`
writes $GRADIENT_DUMP_DIR/rank<RANK>.pt, {"names": parameter names, "grads": their gradients} as
the optimizer is about to use them (after DDP's averaging and the clipping, in parameter-group
order). The hooks are test-side: product code has none."""
import os
import sys

import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

import main_task_retrieval
from driver import trainer

NAMES = []
BUILD_OPTIMIZER = trainer.build_optimizer


def build_optimizer_keeping_names(*args, **kwargs):
    optimizer, scheduler, groups = BUILD_OPTIMIZER(*args, **kwargs)
    NAMES.extend(name for group in groups for name in group["names"])
    return optimizer, scheduler, groups


def save_first_gradients(optimizer, args, kwargs):
    path = os.path.join(os.environ["GRADIENT_DUMP_DIR"], f"rank{os.environ.get('RANK', '0')}.pt")
    if not os.path.exists(path):
        grads = [p.grad.detach().clone() for group in optimizer.param_groups for p in group["params"]]
        assert len(grads) == len(NAMES)
        torch.save({"names": NAMES, "grads": grads}, path)


if __name__ == "__main__":
    os.makedirs(os.environ["GRADIENT_DUMP_DIR"], exist_ok=True)
    trainer.build_optimizer = build_optimizer_keeping_names
    register_optimizer_step_pre_hook(save_first_gradients)
    sys.exit(main_task_retrieval.main())
