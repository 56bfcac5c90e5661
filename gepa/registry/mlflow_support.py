"""What the MLflow export and the run tracking share: importing MLflow (an optional extra) and turning its failures
into one line that names the fix, instead of MLflow's traceback of thirty lines.
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

from gepa.errors import UserError, install_hint, redact_secrets

EXAMPLE_URI = "sqlite:///mlflow.db"
_UNREACHABLE = (
    "Failed to establish a new connection",
    "NameResolutionError",
    "ConnectTimeoutError",
    "Connection refused",
)


def import_mlflow(purpose: str) -> Any:
    """The ``mlflow`` module, set up for a command line: synchronous logging, and a dead server reported after
    seconds (MLflow's own default retries an unreachable server for minutes). ``purpose`` names the feature
    in the error when the extra is missing."""
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    try:
        import mlflow
    except ImportError as exc:
        raise UserError(f"{purpose} needs MLflow; {install_hint('mlflow')}") from exc
    return mlflow


def mlflow_problem(exc: BaseException, uri: str | None, setting: str) -> str:
    """One line saying why MLflow failed at ``uri`` and what to give ``setting`` (the option or task-file key
    the URI came from) instead."""
    text = " ".join(str(exc).split())
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI")  # where MLflow looked when the task file named no URI
    where = _shown(uri) if uri else "MLflow's default store"
    if "filesystem tracking backend" in text:
        database = "sqlite:///" + str(PurePosixPath(urlparse(uri or "mlruns").path).parent / "mlflow.db")
        return (
            f"MLflow cannot use the file store {where!r} (MLflow 3 refuses it); give {setting} a database "
            f"instead, e.g. {database} (no server needed)"
        )
    if "unsupported URI" in text or "Unexpected URI scheme" in text:
        return (
            f"{where!r} is not an MLflow tracking URI; give {setting} a database such as {EXAMPLE_URI} (no "
            "server needed) or the http(s):// address of an MLflow server"
        )
    if isinstance(exc, ImportError):  # a database driver MLflow's store needs, such as psycopg
        return f"MLflow at {where} needs the Python module {exc.name or text!r}, which is not installed"
    if any(sign in text for sign in _UNREACHABLE):
        return (
            f"no MLflow server answers at {where}; start one (mlflow server --backend-store-uri {EXAMPLE_URI}) "
            f"or give {setting} a local database such as {EXAMPLE_URI}"
        )
    return f"MLflow at {where} failed: {type(exc).__name__}: {redact_secrets(text.split('. ')[0][:300])}"


def _shown(uri: str) -> str:
    """``uri`` without its password (a database URI may hold one)."""
    parts = urlparse(uri)
    if not parts.password:
        return uri
    return uri.replace(f":{parts.password}@", ":***@", 1)
