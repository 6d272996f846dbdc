"""Read annotation files (JSON, CSV, tab-separated, id lists) with errors that say where.

Every problem is an `InputError` naming the dataset, the file and the line (text files) or
the entry (JSON, whose files are often one long line, e.g. `sentences[17]`). Files are read
as UTF-8, with or without a byte-order mark.
"""
import csv
import io
import json
import os
from typing import Dict, Iterable, Iterator, List, Sequence, Tuple

from dataloaders.retrieval_split import RetrievalSplit, split_from_pairs
from modules.errors import InputError


def annotation_error(dataset: str, path: str, where: str, problem: str) -> InputError:
    return InputError(f"{dataset}: {path} {where}: {problem}")


def split_from_file(dataset: str, name: str, pairs: Iterable[Tuple[str, str]], path: str,
                    what: str = "no video with a caption") -> RetrievalSplit:
    """`split_from_pairs` for (video_id, caption) pairs read from `path`: an empty split (a
    header-only file) is an error naming the dataset, the split and the file, before any training."""
    split = split_from_pairs(dataset, name, pairs)
    if not split.captions:
        raise InputError(f"{dataset} {name} split is empty: {path} has {what}")
    return split


def annotation_path(dataset: str, data_path: str, file_name: str) -> str:
    """`data_path/file_name`, or an InputError if it does not exist."""
    path = os.path.join(data_path, file_name)
    if not os.path.isfile(path):
        raise InputError(f"{dataset}: annotation file not found: {path} (expected in --data_path {data_path})")
    return path


BYTE_ORDER_MARK = b"\xef\xbb\xbf"


def read_text(dataset: str, path: str) -> str:
    """The file as text: UTF-8, with or without a byte-order mark. A byte that is not UTF-8
    (a file re-saved as Latin-1 or cp1252) is an error naming its line and byte offset."""
    with open(path, "rb") as handle:
        data = handle.read()
    start = len(BYTE_ORDER_MARK) if data.startswith(BYTE_ORDER_MARK) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = start + error.start
        line = data.count(b"\n", 0, offset) + 1
        raise annotation_error(dataset, path, f"line {line}, byte {offset}",
                               f"not UTF-8 text (byte 0x{data[offset]:02x}); re-save the file as UTF-8") from None


def read_json(dataset: str, path: str) -> object:
    try:
        return json.loads(read_text(dataset, path))
    except json.JSONDecodeError as error:
        raise annotation_error(dataset, path, f"line {error.lineno} column {error.colno}",
                               f"not valid JSON ({error.msg})") from None


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


OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _delimiter_hint(header_line: str) -> str:
    """What the header is separated by, if not by commas (a CSV re-saved by a spreadsheet)."""
    for delimiter, name in OTHER_DELIMITERS.items():
        if header_line.count(delimiter) > header_line.count(","):
            return f"; the header is separated by {name}, not commas: re-save the file comma-separated, as distributed"
    return ""


def read_csv_columns(dataset: str, path: str, columns: Sequence[str]) -> Iterator[Tuple[int, List[str]]]:
    """Yield (line number, [values of `columns`]) for a comma-separated file with a header row."""
    text = read_text(dataset, path)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    missing = [c for c in columns if header is None or c not in header]
    if missing:
        raise annotation_error(dataset, path, "line 1", f"header lacks column(s) {missing}, found {header}"
                               + _delimiter_hint(text.partition("\n")[0]))
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


def _lines(text: str) -> Iterator[Tuple[int, str]]:
    """(line number, line without its line end) for every line of `text`."""
    return enumerate((line.rstrip("\r") for line in text.split("\n")), start=1)


def read_tab_separated(dataset: str, path: str, field_count: int) -> Iterator[Tuple[int, List[str]]]:
    """Yield (line number, fields) for a headerless file whose fields only tabs separate."""
    for line_number, line in _lines(read_text(dataset, path)):
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
    return [(n, line.strip()) for n, line in _lines(read_text(dataset, path)) if line.strip()]


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
        splits[name] = split_from_file(dataset, name, pairs, path)
    return splits
