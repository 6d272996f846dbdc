"""Results of several training seeds as one: every number the mean over the seeds, `<name>_std` beside it.

A training seed sets a head's starting weights and the stream of training batches; the world (the
vocabulary) and the evaluation pools come from the data seed and are the same for every training
seed, so the spread is that of training alone. The standard deviation is
`modules.metrics.mean_and_std`'s (sample: n - 1).
"""
from typing import List

from modules.metrics import mean_and_std


def combine(per_seed: List[dict]) -> dict:
    """Dicts of the same keys (nested; numbers, or anything else that is equal across seeds) -> one
    dict: a number becomes the mean with `<key>_std` next to it; a nested dict is combined key by key."""
    first, combined = per_seed[0], {}
    for key, value in first.items():
        values = [entry[key] for entry in per_seed]
        if isinstance(value, dict):
            combined[key] = combine(values)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            combined[key], combined[f"{key}_std"] = mean_and_std(values)
        else:
            combined[key] = value
    return combined
