"""Results of several training seeds (or evaluation pools) as one: every number the mean, `<name>_std`
beside it for the seeds.

A training seed sets a head's starting weights and the stream of training batches; the world (the
vocabulary) and the evaluation pools come from the data seed and are the same for every training
seed, so the spread over seeds is that of training alone. Several pools of a split (`--pools`) are
averaged first, within each seed (`with_std=False`): the mean over pools is that seed's estimate of a
head's R@1 on a pool of that size, less dependent on which captions one pool happened to draw. The
standard deviation is `modules.metrics.mean_and_std`'s (sample: n - 1).
"""
from typing import List

from modules.metrics import mean_and_std


def combine(per_seed: List[dict], with_std: bool = True) -> dict:
    """Dicts of the same keys (nested; numbers, or anything else that is equal across them) -> one
    dict: a number becomes the mean, with `<key>_std` next to it if `with_std`; a nested dict is combined
    key by key."""
    first, combined = per_seed[0], {}
    for key, value in first.items():
        values = [entry[key] for entry in per_seed]
        if isinstance(value, dict):
            combined[key] = combine(values, with_std)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            mean, std = mean_and_std(values)
            combined[key] = mean
            if with_std:
                combined[f"{key}_std"] = std
        else:
            combined[key] = value
    return combined
