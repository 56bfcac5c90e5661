"""Load a task's examples (jsonl, json, csv) into train / val / test splits.

Errors name the file and line; ids are ``<split>/<id field or row number>`` so splits never collide.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gepa.core.types import Example
from gepa.errors import TaskSpecError
from gepa.task import Task


@dataclass(frozen=True, kw_only=True)
class Splits:
    train: list[Example]
    val: list[Example]
    test: list[Example]
    sources: dict[str, str]

    def fields(self) -> set[str]:
        """Field names present in every example of every split."""
        rows = [e.fields for e in (*self.train, *self.val, *self.test)]
        return set.intersection(*(set(r) for r in rows)) if rows else set()


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise TaskSpecError("data file not found", path=str(path))
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix == ".jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise TaskSpecError(f"invalid JSON: {exc}", path=str(path), line=number) from exc
            if not isinstance(row, dict):
                raise TaskSpecError("each line must be a JSON object", path=str(path), line=number)
            rows.append(row)
        return rows
    if suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise TaskSpecError(f"invalid JSON: {exc}", path=str(path)) from exc
        if isinstance(data, dict) and isinstance(data.get("examples"), list):
            data = data["examples"]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise TaskSpecError("a .json data file must hold a list of objects (or {\"examples\": [...]})",
                                path=str(path))
        return data
    if suffix == ".csv":
        return [dict(row) for row in csv.DictReader(text.splitlines())]
    raise TaskSpecError(f"unsupported data format {suffix!r}; use .jsonl, .json or .csv", path=str(path))


def to_examples(split: str, rows: Sequence[dict[str, Any]]) -> list[Example]:
    return [Example(id=f"{split}/{row.get('id', index)}", fields=row) for index, row in enumerate(rows)]


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
        picked = {"train": order[:n_train], "val": order[n_train:n_train + n_val],
                  "test": order[n_train + n_val:n_train + n_val + n_test]}
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
            raise TaskSpecError(f"the {split} split is empty", path=sources.get(split, str(task.path)),
                                field=f"data.{split}")
    return Splits(train=to_examples("train", by_split["train"]), val=to_examples("val", by_split["val"]),
                  test=to_examples("test", by_split["test"]), sources=sources)
