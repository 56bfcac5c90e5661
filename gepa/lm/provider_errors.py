"""Provider exceptions (litellm's and the openai SDK's) mapped to gepa's error tree, so retries and messages are
the same whichever backend made the call: auth and unknown-model failures are systemic, 429 / 5xx / timeouts /
connection errors are transient (``ModelClient`` retries them), other 4xx fail at once."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gepa.errors import ModelCallError, ModelConfigError, TransientModelError


def parse_retry_after(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``retry-after`` as seconds or an HTTP date; None if absent."""
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000)
        value = headers.get("retry-after")
    except (TypeError, ValueError, AttributeError):
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_after_seconds(exc: BaseException) -> float | None:
    """The provider's retry hint from a litellm/openai exception, if it sent one."""
    response = getattr(exc, "response", None)
    for headers in (getattr(exc, "litellm_response_headers", None), getattr(response, "headers", None)):
        if headers:
            hinted = parse_retry_after(_case_insensitive(headers))
            if hinted is not None:
                return hinted
    return None


def _case_insensitive(headers: Any) -> Any:
    try:
        return {str(k).lower(): v for k, v in headers.items()}
    except AttributeError:
        return headers


def map_provider_error(exc: BaseException, model: str, address: str | None = None) -> ModelCallError:
    """Translate a litellm exception into gepa's tree, most specific first."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    status = int(status) if isinstance(status, int) else None
    message = str(getattr(exc, "message", "") or exc)
    where = f"model {model!r}" + (f" at {address}" if address else "")
    if name in ("AuthenticationError", "PermissionDeniedError") or status in (401, 403):
        return ModelConfigError(
            f"model {model!r} rejected the credentials (HTTP {status}): {message}",
            model=model,
            status_code=status,
            address=address,
        )
    if name == "NotFoundError" or status == 404 or "LLM Provider NOT provided" in message:
        return ModelConfigError(
            f"model {model!r} is unknown to its provider: {message}", model=model, status_code=status, address=address
        )
    transient_names = (
        "RateLimitError",
        "Timeout",
        "APITimeoutError",
        "APIConnectionError",
        "InternalServerError",
        "ServiceUnavailableError",
        "BadGatewayError",
    )
    if name in transient_names or status in (408, 409, 429) or (status is not None and status >= 500):
        error = TransientModelError(
            f"{where}: {name} (HTTP {status}): {message}", model=model, status_code=status, address=address
        )
        error.retry_after = retry_after_seconds(exc)
        return error
    return ModelCallError(
        f"{where}: {name} (HTTP {status}): {message}", model=model, status_code=status, address=address
    )


@contextmanager
def reading_reply(model: str, address: str | None, response: Any) -> Iterator[None]:
    """Turn a reply the code cannot read as a chat completion (an HTML page, no ``choices``, broken JSON, all
    with status 200) into a ``ModelCallError`` that names the model and the server, not a bare IndexError."""
    try:
        yield
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        where = f"model {model!r}" + (f" at {address}" if address else "")
        shown = f"; it begins {response[:80]!r}" if isinstance(response, str) else ""
        raise ModelCallError(
            f"{where}: the server's reply is not a chat completion ({type(exc).__name__}: {exc}){shown}",
            model=model,
            address=address,
        ) from exc
