"""Loading what a task file names in the user's own code (an evaluator function, a pipeline class), so every
such reference reads and fails alike: ``package.module:name`` or ``path/to/file.py:name`` relative to the task."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any


def load_object(reference: str, base_dir: Path, *, kind: str, error: type[Exception], noun: str = "object") -> Any:
    """The object ``reference`` names; any failure becomes ``error`` with a message that starts with ``kind``."""
    target, _, attr = reference.rpartition(":")
    if not target or not attr:
        raise error(f"{kind}: {reference!r} must look like 'module:name' or 'file.py:name'")
    try:
        if target.endswith(".py"):
            path = (base_dir / target).resolve()
            spec = importlib.util.spec_from_file_location(f"gepa_user_{path.stem}", path)
            if spec is None or spec.loader is None or not path.is_file():
                raise error(f"{kind}: no file {str(path)!r}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except error:
        raise
    except Exception as exc:
        raise error(f"{kind}: cannot import {target!r}: {type(exc).__name__}: {exc}") from exc
    found = getattr(module, attr, None)
    if found is None:
        raise error(f"{kind}: {target!r} has no {noun} {attr!r}")
    return found
