"""The pixel demo over several training seeds: one table of mean ± standard deviation, and each seed's values.

    python -m scripts.demo_seeds_report --runs runs/demo_seeds --seeds 42 7 1 --heads dllfa meanP seqTransf

Reads <runs>/seed<S>/summary.json (scripts/demo_report.py) for every seed, writes <runs>/seeds.md and
<runs>/seeds.json and prints the table. Every seed trains on the same generated data; only the training
seed changes (starting weights, batch order), so the spread is that of training. The standard
deviation is the sample one (n - 1; 0 for one seed). Below the table, the leads that the README's
claims rest on: for each other head, dllfa's lead per seed and whether the smallest of them is larger
than the larger of the two heads' standard deviations.
"""
import argparse
import json
import os
import sys
from typing import Dict, List, Optional

from modules.metrics import format_mean_std, mean_and_std
from scripts.demo_heads import DEMO_HEADS

HEAD = object()  # stands for the head's name in a column's path
# column -> (title, path from the root of a summary.json, digits); an attention column exists only for
# heads that attend over frames (a path that does not resolve on every seed is left out)
COLUMNS = {
    "R1": ("R@1", ("heads", HEAD, "R1"), 1),
    "one_event_R1": ("R@1 one-event", ("heads", HEAD, "by_caption_kind", "one_event", "R1"), 1),
    "sequence_R1": ("R@1 sequence", ("heads", HEAD, "by_caption_kind", "sequence", "R1"), 1),
    "order_contrast": ("order contrast", ("heads", HEAD, "order_contrast"), 3),
    "one_event_order_contrast": ("order contrast one-event",
                                 ("heads", HEAD, "by_caption_kind", "one_event", "order_contrast"), 3),
    "swap_contrast": ("swap contrast", ("swap_contrast", HEAD), 3),
    "direction_contrast": ("direction contrast", ("direction_contrast", HEAD), 3),
    "attention_sentence": ("attention on the event, sentence",
                           ("attention_on_described_event", HEAD, "sentence", "mass"), 2),
    "attention_words": ("attention on the event, words", ("attention_on_described_event", HEAD, "words", "mass"), 2),
}
LEAD_COLUMNS = ("one_event_R1", "sequence_R1", "order_contrast")
REFERENCE_HEAD = "dllfa"


def _value(summary: dict, head: str, column: str) -> Optional[float]:
    """The column's value for `head` in one seed's summary, None where the head has no such value."""
    entry = summary
    for key in COLUMNS[column][1]:
        entry = entry.get(head if key is HEAD else key) if isinstance(entry, dict) else None
    return None if entry is None else float(entry)


def columns_of(summaries: List[dict], head: str) -> List[str]:
    """The table's columns for `head`: those it has a value for on every seed."""
    return [column for column in COLUMNS if all(_value(s, head, column) is not None for s in summaries)]


def combine(summaries: Dict[int, dict], heads: List[str]) -> dict:
    """{"seeds", "heads": head -> column -> {"mean", "std", "per_seed": {seed: value}}, "uniform_attention"}."""
    ordered = list(summaries.values())
    result = {"seeds": list(summaries), "heads": {}}
    for head in heads:
        result["heads"][head] = {}
        for column in columns_of(ordered, head):
            values = {seed: _value(summary, head, column) for seed, summary in summaries.items()}
            mean, std = mean_and_std(list(values.values()))
            result["heads"][head][column] = {"mean": mean, "std": std, "per_seed": values}
    attention = [levels for s in ordered for levels in s["attention_on_described_event"].values()]
    if attention:
        result["uniform_attention"] = next(iter(attention[0].values()))["uniform"]
    return result


def leads(combined: dict) -> Dict[str, Dict[str, dict]]:
    """Per other head and LEAD_COLUMNS: dllfa's lead on each seed, its smallest, and the larger std."""
    heads = combined["heads"]
    if REFERENCE_HEAD not in heads:
        return {}
    out = {}
    for head in heads:
        if head == REFERENCE_HEAD:
            continue
        out[head] = {}
        for column in LEAD_COLUMNS:
            ours, theirs = heads[REFERENCE_HEAD][column], heads[head][column]
            per_seed = {seed: ours["per_seed"][seed] - theirs["per_seed"][seed] for seed in ours["per_seed"]}
            smallest, spread = min(per_seed.values()), max(ours["std"], theirs["std"])
            out[head][column] = {"per_seed": per_seed, "smallest": smallest, "spread": spread,
                                 "ahead_beyond_spread": smallest > spread}
    return out


def cell(entry: dict, column: str, with_seeds: bool = True) -> str:
    """"mean ± std (each seed's value)" of a combined column, in the column's digits."""
    digits = COLUMNS[column][2]
    text = format_mean_std(entry["mean"], entry["std"], digits)
    return text + " (" + " / ".join(f"{v:.{digits}f}" for v in entry["per_seed"].values()) + ")" if with_seeds else text


def markdown(combined: dict, lead_table: dict) -> str:
    seeds = combined["seeds"]
    titles = {column: title for column, (title, _, _) in COLUMNS.items()}
    lines = [f"Pixel demo over {len(seeds)} training seeds ({', '.join(map(str, seeds))}; the same data): mean ± "
             "standard deviation (each seed's value in brackets, in that order). Attention: share of a one-event "
             "caption's attention on its event's frames"
             + (f" (uniform {combined['uniform_attention']:.2f})" if "uniform_attention" in combined else "") + ".", "",
             "| head | " + " | ".join(titles.values()) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for head, entries in combined["heads"].items():
        cells = [cell(entries[c], c) if c in entries else "" for c in COLUMNS]
        lines.append(f"| {head} | " + " | ".join(cells) + " |")
    if lead_table:
        lines += ["", f"{REFERENCE_HEAD}'s lead on each seed (its value minus the other head's), and whether the "
                  "smallest lead is larger than the larger standard deviation of the two:", "",
                  "| against | " + " | ".join(titles[c] for c in LEAD_COLUMNS) + " |", "|---|" + "---|" * len(LEAD_COLUMNS)]
        for head, columns in lead_table.items():
            cells = []
            for column in LEAD_COLUMNS:
                entry, digits = columns[column], COLUMNS[column][2]
                per_seed = " / ".join(f"{v:+.{digits}f}" for v in entry["per_seed"].values())
                verdict = "beyond the spread" if entry["ahead_beyond_spread"] else "not beyond the spread"
                cells.append(f"{per_seed}; std {entry['spread']:.{digits}f}: {verdict}")
            lines.append(f"| {head} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="runs/demo_seeds")
    parser.add_argument("--seeds", nargs="+", type=int, required=True)
    parser.add_argument("--heads", nargs="+", default=["dllfa", "meanP", "seqTransf"], choices=list(DEMO_HEADS))
    args = parser.parse_args(argv)
    summaries = {}
    for seed in args.seeds:
        with open(os.path.join(args.runs, f"seed{seed}", "summary.json")) as handle:
            summaries[seed] = json.load(handle)
    combined = combine(summaries, args.heads)
    lead_table = leads(combined)
    table = markdown(combined, lead_table)
    with open(os.path.join(args.runs, "seeds.md"), "w") as handle:
        handle.write(table)
    with open(os.path.join(args.runs, "seeds.json"), "w") as handle:
        json.dump({**combined, "leads": lead_table}, handle, indent=2)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
