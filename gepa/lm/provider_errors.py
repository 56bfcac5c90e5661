"""Provider exceptions (litellm's and the openai SDK's) mapped to gepa's error tree, so retries and messages are
the same whichever backend made the call: auth and unknown-model failures are systemic, 429 / 5xx / timeouts /
connection errors are transient (``ModelClient`` retries them), other 4xx fail at once."""

from __future__ import annotations

from gepa.errors import ModelCallError, ModelConfigError, TransientModelError


def retry_after_seconds(exc: BaseException) -> float | None:
    """The provider's ``Retry-After`` (seconds) from a litellm/openai exception, if it sent one."""
    candidates = [getattr(exc, "litellm_response_headers", None)]
    response = getattr(exc, "response", None)
    candidates.append(getattr(response, "headers", None))
    for headers in candidates:
        if not headers:
            continue
        try:
            value = headers.get("retry-after") or headers.get("Retry-After")
            if value is not None:
                return max(0.0, float(value))
        except (TypeError, ValueError, AttributeError):
            continue
    return None


def map_provider_error(exc: BaseException, model: str) -> ModelCallError:
    """Translate a litellm exception into gepa's tree, most specific first."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    status = int(status) if isinstance(status, int) else None
    message = str(getattr(exc, "message", "") or exc)
    if name in ("AuthenticationError", "PermissionDeniedError") or status in (401, 403):
        return ModelConfigError(f"model {model!r} rejected the credentials (HTTP {status}): {message}",
                                model=model, status_code=status)
    if name == "NotFoundError" or status == 404 or "LLM Provider NOT provided" in message:
        return ModelConfigError(f"model {model!r} is unknown to its provider: {message}",
                                model=model, status_code=status)
    transient_names = ("RateLimitError", "Timeout", "APITimeoutError", "APIConnectionError", "InternalServerError",
                       "ServiceUnavailableError", "BadGatewayError")
    if name in transient_names or status in (408, 409, 429) or (status is not None and status >= 500):
        error = TransientModelError(f"model {model!r}: {name} (HTTP {status}): {message}",
                                    model=model, status_code=status)
        error.retry_after = retry_after_seconds(exc)  # type: ignore[attr-defined]
        return error
    return ModelCallError(f"model {model!r}: {name} (HTTP {status}): {message}", model=model, status_code=status)
