"""Read annotation files (JSON, CSV, tab-separated, id lists) with errors that say where.

Every problem is an `InputError` naming the dataset, the file and the line (text files) or
the entry (JSON, whose files are often one long line, e.g. `sentences[17]`). Files are read
as UTF-8, with or without a byte-order mark.
"""
import csv
import json
import os
from typing import Dict, Iterator, List, Sequence, Tuple

from dataloaders.retrieval_split import RetrievalSplit, split_from_pairs
from modules.errors import InputError


def annotation_error(dataset: str, path: str, where: str, problem: str) -> InputError:
    return InputError(f"{dataset}: {path} {where}: {problem}")


def annotation_path(dataset: str, data_path: str, file_name: str) -> str:
    """`data_path/file_name`, or an InputError if it does not exist."""
    path = os.path.join(data_path, file_name)
    if not os.path.isfile(path):
        raise InputError(f"{dataset}: annotation file not found: {path} (expected in --data_path {data_path})")
    return path


def read_json(dataset: str, path: str) -> object:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise annotation_error(dataset, path, f"line {error.lineno} column {error.colno}",
                               f"not valid JSON ({error.msg})") from None
    except UnicodeDecodeError as error:
        raise annotation_error(dataset, path, f"byte {error.start}", "not UTF-8 text") from None


def json_records(dataset: str, path: str, records: object, where: str,
                 fields: Dict[str, type]) -> Iterator[Tuple[int, dict]]:
    """Yield (position, record) for a JSON list whose records must hold `fields` (name -> type)."""
    if not isinstance(records, list):
        raise annotation_error(dataset, path, where, f"expected a list, found {type(records).__name__}")
    for position, record in enumerate(records):
        entry = f"{where}[{position}]"
        if not isinstance(record, dict):
            raise annotation_error(dataset, path, entry, f"expected an object, found {type(record).__name__}")
        for field, kind in fields.items():
            value = record.get(field)
            if not isinstance(value, kind) or (kind is str and not value.strip()):
                found = "missing" if field not in record else repr(value)[:60]
                raise annotation_error(dataset, path, entry, f"field {field!r} must be a non-empty "
                                       f"{kind.__name__}, found {found}")
        yield position, record


def read_csv_columns(dataset: str, path: str, columns: Sequence[str]) -> Iterator[Tuple[int, List[str]]]:
    """Yield (line number, [values of `columns`]) for a CSV file with a header row."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        missing = [c for c in columns if header is None or c not in header]
        if missing:
            raise annotation_error(dataset, path, "line 1", f"header lacks column(s) {missing}, found {header}")
        positions = [header.index(c) for c in columns]
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise annotation_error(dataset, path, f"line {reader.line_num}",
                                       f"{len(row)} fields, the header has {len(header)}")
            values = [row[p].strip() for p in positions]
            for column, value in zip(columns, values):
                if not value:
                    raise annotation_error(dataset, path, f"line {reader.line_num}", f"empty {column!r}")
            yield reader.line_num, values


def read_tab_separated(dataset: str, path: str, field_count: int) -> Iterator[Tuple[int, List[str]]]:
    """Yield (line number, fields) for a headerless file whose fields only tabs separate."""
    with open(path, encoding="utf-8-sig") as handle:
        for line_number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != field_count or not fields[0].strip() or not fields[-1].strip():
                raise annotation_error(dataset, path, f"line {line_number}",
                                       f"expected {field_count} tab-separated fields with a non-empty first and "
                                       f"last field, found {len(fields)}: {line[:80]!r}")
            yield line_number, [f.strip() for f in fields]


def read_id_list(dataset: str, path: str) -> List[Tuple[int, str]]:
    """(line number, id) for a text file with one id per line; blank lines are skipped."""
    with open(path, encoding="utf-8-sig") as handle:
        return [(n, line.strip()) for n, line in enumerate(handle, start=1) if line.strip()]


def splits_from_id_lists(dataset: str, data_path: str, list_files: Dict[str, str], captions: Dict[str, List[str]],
                         captions_source: str) -> Dict[str, RetrievalSplit]:
    """{split name: every caption of every id listed in its file (one id per line)}."""
    splits = {}
    for name, file_name in list_files.items():
        path = annotation_path(dataset, data_path, file_name)
        pairs = []
        for line, video_id in read_id_list(dataset, path):
            if video_id not in captions:
                raise annotation_error(dataset, path, f"line {line}",
                                       f"video {video_id!r} has no captions in {captions_source}")
            pairs.extend((video_id, caption) for caption in captions[video_id])
        splits[name] = split_from_pairs(dataset, name, pairs)
    return splits
