"""The one exception tree of gepa.

    GepaError                   anything gepa raises on purpose
    ├── UserError               the user can fix it (CLI exit code 2, no traceback)
    │   ├── TaskSpecError       a task file is malformed or names something missing (.path, .line, .field)
    │   ├── RegistryError       a prompt registry entry is missing or invalid
    │   ├── RunStateError       a run directory is missing, truncated, corrupt or in use
    │   │   └── StateFormatError  its state.json is not a run state this version reads
    │   ├── CacheError          the response cache directory cannot be used
    │   ├── EvaluatorError      an evaluator is misconfigured or fails on every seed example (not: on one)
    │   └── ModelConfigError    (also a SystemicModelError) missing key, unknown model, missing extra
    └── ModelCallError          a model call failed (.model, .status_code)
        ├── SystemicModelError  no point continuing: every further call would fail the same way
        │   ├── ModelConfigError
        │   └── ModelUnreachableError  a whole batch failed after its retries
        └── TransientModelError rate limit, 5xx, timeout or connection error after retries ran out

Per-example failures are data, not exceptions: the engine turns them into score 0 plus feedback.
``UserError`` and ``SystemicModelError`` stop a run.
"""

from __future__ import annotations

import os
import re

_SECRET_VARIABLE = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
_SECRET_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1[redacted]"),
    (re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}"), "[redacted]"),
    (
        re.compile(
            r"(?i)((?:api[_-]?key|x-api-key|authorization)[\"']?\s*[:=]\s*[\"']?)"
            r"[^\s\"',}]{8,}"
        ),
        r"\1[redacted]",
    ),
]


_NAMED_SECRETS: set[str] = set()


def install_hint(extra: str) -> str:
    """How to install an optional extra: from a clone, since no package index holds gepa-evolve (a hint
    naming ``pip install 'gepa-evolve[...]'`` sent people to a command that cannot work)."""
    return f"install the {extra} extra from a clone of gepa: pip install -e '.[{extra}]'"


def treat_as_secret(variable: str | None) -> None:
    """From now on, redact the value of ``variable`` whatever its name: a task's ``api_key_env: LLM_CRED`` holds a
    key although nothing in its name says so. Every model backend calls this for the variable it reads."""
    if variable:
        _NAMED_SECRETS.add(variable)


def redact_secrets(text: str) -> str:
    """``text`` with key values replaced by ``[redacted]``: the values of the variables a task named as keys and
    of environment variables named like keys (``*_KEY``, ``*_TOKEN``...), bearer tokens, ``sk-...`` keys and
    ``api_key=...`` pairs. Every text gepa stores, prints or sends that may hold a provider's error goes through
    here, so a provider that echoes a header never puts a key on disk."""
    for name, value in os.environ.items():
        if (name in _NAMED_SECRETS and len(value) >= 4) or (len(value) >= 8 and _SECRET_VARIABLE.search(name)):
            text = text.replace(value, "[redacted]")
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class GepaError(Exception):
    """Base of every error gepa raises on purpose."""


class UserError(GepaError):
    """Something the user can fix; the CLI prints it without a traceback and exits with code 2."""


class TaskSpecError(UserError):
    """A task file is invalid. Carries where: ``path``, ``line`` (1-based) and ``field``."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path, self.line, self.column, self.field = path, line, column, field
        where = path or ""
        if path and line is not None:
            where = f"{path}:{line}" + (f":{column}" if column is not None else "")
        super().__init__(f"{where}: {message}" if where else message)


class RegistryError(UserError):
    """A prompt registry entry is missing, ambiguous or hand-edited into an invalid state."""


class RunStateError(UserError):
    """A run directory cannot be read back: missing, truncated or from an unknown format."""


class StateFormatError(RunStateError, ValueError):
    """The state data is not a gepa run state this version can read."""


class CacheError(UserError):
    """The response cache directory cannot be used; the message names it and the way out."""


class EvaluatorError(UserError):
    """An evaluator is misconfigured (bad regex, unimportable function) or fails on every example of the seed;
    not a failure on one example."""


class ModelCallError(GepaError):
    """A model call failed. ``model``, ``address`` (the server, when known) and ``status_code`` say which and
    how; the message never holds a key (see ``redact_secrets``)."""

    def __init__(
        self, message: str, *, model: str = "", status_code: int | None = None, address: str | None = None
    ) -> None:
        self.model, self.status_code, self.address = model, status_code, address
        super().__init__(redact_secrets(message))


class SystemicModelError(ModelCallError):
    """A failure that every further call would repeat (bad key, unknown model): stop the run."""


class ModelUnreachableError(SystemicModelError):
    """Every call of a batch failed with a transient error that outlived its retries: the model's server is
    down or unreachable, so the run stops (its state is saved and can be resumed)."""


class TransientModelError(ModelCallError):
    """Rate limit, server error, timeout or connection error that outlived its retries. ``retry_after`` is the
    provider's hint in seconds, when it sent one."""

    retry_after: float | None = None


class ModelConfigError(SystemicModelError, UserError):
    """A model cannot be used as configured: missing API key, unknown model, optional extra not installed."""
