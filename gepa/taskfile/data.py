"""Load a task's examples (jsonl, json, csv) into train / val / test splits.

Errors name the file and line; ids are ``<split>/<id field or row number>`` so splits never collide.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gepa.core.types import Example
from gepa.errors import TaskSpecError
from gepa.taskfile.spec import Task, read_utf8

TOO_DEEP = "this row is nested too deeply to read (JSON nests up to about 1000 levels here)"


@dataclass(frozen=True, kw_only=True)
class Splits:
    train: list[Example]
    val: list[Example]
    test: list[Example]
    sources: dict[str, str]
    guard: dict[str, list[Example]] = field(default_factory=dict)  # name -> examples a prompt must not lose on

    def fingerprint(self) -> dict[str, str]:
        """A short hash of each split's examples: a resumed run must score the same examples."""
        digest = {}
        sets = {
            "train": self.train,
            "val": self.val,
            "test": self.test,
            **{f"guard:{name}": examples for name, examples in self.guard.items()},
        }
        for name, examples in sets.items():
            rows = [[e.id, dict(e.fields)] for e in examples]
            blob = json.dumps(rows, sort_keys=True, ensure_ascii=False, default=str)
            digest[name] = hashlib.sha256(blob.encode()).hexdigest()[:16]
        return digest

    def fields(self) -> set[str]:
        """Field names present in every example of every split."""
        rows = [e.fields for e in (*self.train, *self.val, *self.test)]
        return set.intersection(*(set(r) for r in rows)) if rows else set()


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a .jsonl, .json or .csv file. The csv and json modules do the splitting (quoted newlines,
    U+2028 inside JSON strings); a BOM is dropped; every decoding problem names the file and line (in a .json
    file the row nested too deeply is not located: the parser gives up without saying where)."""
    if not path.is_file():
        raise TaskSpecError("data file not found", path=str(path))
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".json", ".csv"):
        raise TaskSpecError(f"unsupported data format {suffix!r}; use .jsonl, .json or .csv", path=str(path))
    text = read_utf8(path)
    if suffix == ".jsonl":
        return _jsonl_rows(text, path)
    if suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise TaskSpecError(f"invalid JSON: {exc}", path=str(path), line=getattr(exc, "lineno", None)) from exc
        except RecursionError:
            raise TaskSpecError(TOO_DEEP, path=str(path)) from None
        if isinstance(data, dict) and isinstance(data.get("examples"), list):
            data = data["examples"]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise TaskSpecError(
                'a .json data file must hold a list of objects (or {"examples": [...]})', path=str(path)
            )
        return data
    return _csv_rows(text, path)


def _jsonl_rows(text: str, path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 may sit in a string
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise TaskSpecError(f"invalid JSON: {exc}", path=str(path), line=number) from exc
        except RecursionError:
            raise TaskSpecError(TOO_DEEP, path=str(path), line=number) from None
        if not isinstance(row, dict):
            raise TaskSpecError("each line must be a JSON object", path=str(path), line=number)
        rows.append(row)
    return rows


def _csv_rows(text: str, path: Path) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    for row in reader:
        missing = [key for key, value in row.items() if value is None]
        if missing or None in row:
            problem = (
                f"has no value for {', '.join(map(repr, missing))}" if missing else "has more cells than the header"
            )
            raise TaskSpecError(
                f"this row {problem} (columns: {', '.join(reader.fieldnames or [])})",
                path=str(path),
                line=reader.line_num,
            )
        rows.append(dict(row))
    return rows


def to_examples(split: str, rows: Sequence[dict[str, Any]], source: str) -> list[Example]:
    """Examples with ids ``<split>/<id field or row number>``; two rows with one id are an error, not one example."""
    examples, seen = [], set()
    for index, row in enumerate(rows):
        example_id = f"{split}/{row.get('id', index)}"
        if example_id in seen:
            raise TaskSpecError(
                f"two {split} examples share the id {row.get('id')!r}; ids must be unique", path=source, field="id"
            )
        seen.add(example_id)
        examples.append(Example(id=example_id, fields=row))
    return examples


def load_splits(task: Task) -> Splits:
    data = task.spec.data
    if data.file is not None:
        assert data.split is not None  # guaranteed by DataSpec
        path = task.resolve(data.file)
        rows = read_rows(path)
        order = list(range(len(rows)))
        random.Random(data.split.seed).shuffle(order)
        n_train = round(len(rows) * data.split.train)
        n_val = round(len(rows) * data.split.val)
        n_test = round(len(rows) * data.split.test)
        picked = {
            "train": order[:n_train],
            "val": order[n_train : n_train + n_val],
            "test": order[n_train + n_val : n_train + n_val + n_test],
        }
        by_split = {k: [rows[i] for i in idx] for k, idx in picked.items()}
        sources = {k: str(path) for k in picked}
    else:
        by_split, sources = {}, {}
        for split in ("train", "val", "test"):
            relative = getattr(data, split)
            if relative is None:
                by_split[split] = []
                continue
            path = task.resolve(relative)
            by_split[split], sources[split] = read_rows(path), str(path)
    for split, limit in (data.limit or {}).items():
        by_split[split] = by_split[split][:limit]
    for split in ("train", "val"):
        if not by_split[split]:
            raise TaskSpecError(
                f"the {split} split is empty", path=sources.get(split, str(task.path)), field=f"data.{split}"
            )
    examples = {
        split: to_examples(split, by_split[split], sources.get(split, str(task.path)))
        for split in ("train", "val", "test")
    }
    guard = {}
    for name, relative in data.guard_files().items():
        path = task.resolve(relative)
        guard[name] = to_examples(f"guard:{name}", read_rows(path), str(path))
        if not guard[name]:
            raise TaskSpecError(f"the guard set {name!r} is empty", path=str(path), field="data.guard")
        sources[f"guard:{name}"] = str(path)
    return Splits(train=examples["train"], val=examples["val"], test=examples["test"], sources=sources, guard=guard)
