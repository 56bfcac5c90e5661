"""JSON files as gepa writes and reads them: UTF-8, non-ASCII text kept as it is, replaced atomically.

The run directories (``gepa.run.rundir``), the prompt registry (``gepa.registry``), the report and the MLflow tracking
all write through here, so a file of one looks like a file of another and no reader sees half of one:

    write_json(path, data)                 indented, for files people read and diff
    write_json(path, data, compact=True)   one line, for the big ones
    handle.write(json_line(record))        one record of a .jsonl log
    data = load_json(path)                 FileNotFoundError or ValueError, for the caller to name
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any


def atomic_write(path: Path, text: str, *, durable: bool = True) -> None:
    """Write to a temporary file in the same directory, then rename over ``path``: a reader sees the old or
    the new file, never half of one. ``durable`` also fsyncs (survives power loss, costs milliseconds).

    The temporary file is opened with mode 0666 for the umask to narrow, as any new file is (``mkstemp`` makes
    0600 whatever the umask, which left shared prompts and runs unreadable to teammates)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def json_text(data: Any, *, compact: bool = False) -> str:
    """``data`` as the text of a JSON file: indented by 2, or with ``compact`` on one line without spaces
    (C-speed encoding); non-ASCII characters as they are, never ``\\u`` escapes."""
    if compact:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(data, indent=2, ensure_ascii=False)


def json_line(data: Any, *, default: Any = None) -> str:
    """One record of a ``.jsonl`` file, with its newline; ``default`` converts what JSON cannot hold."""
    return json.dumps(data, ensure_ascii=False, default=default) + "\n"


def write_json(path: Path, data: Any, *, durable: bool = True, compact: bool = False) -> None:
    """Indented JSON for files people read; ``compact`` for the big ones. Atomic (see ``atomic_write``)."""
    atomic_write(path, json_text(data, compact=compact) + "\n", durable=durable)


def load_json(path: Path) -> Any:
    """The JSON value in ``path`` (UTF-8). A missing file is ``FileNotFoundError``, text that is not JSON (or not
    UTF-8) a ``ValueError``: each caller says what the file is for and what to do."""
    return json.loads(path.read_text(encoding="utf-8"))
