"""Register a prompt version in the MLflow Prompt Registry (optional extra ``mlflow``).

The candidate becomes an MLflow chat template (``system`` as the system message, the other components as
the user message, exactly as gepa ran them); ``{{field}}`` placeholders are MLflow's own variable syntax,
so ``mlflow.genai.load_prompt("prompts:/name@alias").format(text=...)`` fills them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from gepa.core.candidate import content_hash
from gepa.errors import UserError, install_hint
from gepa.system import chat_turns


def _mlflow(tracking_uri: str | None) -> Any:
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    try:
        import mlflow
    except ImportError as exc:
        raise UserError(f"--to mlflow needs MLflow; {install_hint('mlflow')}") from exc
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
    return mlflow


def register_in_mlflow(name: str, components: Mapping[str, str], meta: Mapping[str, Any], *,
                       alias: str | None = None, tracking_uri: str | None = None) -> tuple[int, bool]:
    """Register (or find, by content hash) the prompt; point ``alias`` at it. Returns (version, created)."""
    mlflow = _mlflow(tracking_uri)
    digest = content_hash(components)
    existing = None
    try:
        latest = mlflow.genai.load_prompt(f"prompts:/{name}@latest")
        if latest.tags.get("gepa.content_hash") == digest:
            existing = latest
    except Exception:  # noqa: BLE001 - no such prompt yet
        existing = None
    if existing is not None:
        version, created = int(existing.version), False
    else:
        tags = {"gepa.content_hash": digest,
                **{f"gepa.{k}": str(v) for k, v in meta.items() if v is not None and k != "components"}}
        registered = mlflow.genai.register_prompt(name=name, template=chat_turns(components),
                                                  commit_message=f"gepa export from {meta.get('source_run', '?')}",
                                                  tags=tags)
        version, created = int(registered.version), True
    if alias:
        mlflow.genai.set_prompt_alias(name=name, alias=alias, version=version)
    run_id = meta.get("mlflow_run_id")
    if run_id and created:  # the optimisation run that produced it, when that run was tracked
        from mlflow.tracking import MlflowClient

        MlflowClient(tracking_uri=tracking_uri).link_prompt_version_to_run(str(run_id), f"prompts:/{name}/{version}")
    return version, created
