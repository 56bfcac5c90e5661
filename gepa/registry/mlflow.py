"""Register a prompt version in the MLflow Prompt Registry (optional extra ``mlflow``).

The candidate becomes an MLflow chat template (``system`` as the system message, the other components as
the user message, exactly as gepa ran them); ``{{field}}`` placeholders are MLflow's own variable syntax,
so ``mlflow.genai.load_prompt("prompts:/name@alias").format(text=...)`` fills them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gepa.core.candidate import content_hash
from gepa.errors import UserError
from gepa.registry.mlflow_support import import_mlflow, mlflow_problem
from gepa.system import chat_turns


def _mlflow(tracking_uri: str | None) -> Any:
    mlflow = import_mlflow("--to mlflow")
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
    return mlflow


def register_in_mlflow(
    name: str,
    components: Mapping[str, str],
    meta: Mapping[str, Any],
    *,
    alias: str | None = None,
    tracking_uri: str | None = None,
) -> tuple[int, bool]:
    """Register (or find, by content hash) the prompt; point ``alias`` at it. Returns (version, created).
    MLflow's failures (a file store, a wrong scheme, no server, a missing database driver) are a ``UserError``
    naming the fix."""
    mlflow = _mlflow(tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        return _register(mlflow, name, components, meta, alias, tracking_uri)
    except (MlflowException, ImportError) as exc:
        raise UserError(mlflow_problem(exc, tracking_uri, "--mlflow-uri")) from exc


def _register(
    mlflow: Any,
    name: str,
    components: Mapping[str, str],
    meta: Mapping[str, Any],
    alias: str | None,
    tracking_uri: str | None,
) -> tuple[int, bool]:
    digest = content_hash(components)
    latest = mlflow.genai.load_prompt(f"prompts:/{name}@latest", allow_missing=True)
    if latest is not None and latest.tags.get("gepa.content_hash") == digest:
        version, created = int(latest.version), False
    else:
        tags = {
            "gepa.content_hash": digest,
            **{f"gepa.{k}": str(v) for k, v in meta.items() if v is not None and k != "components"},
        }
        registered = mlflow.genai.register_prompt(
            name=name,
            template=chat_turns(components),
            commit_message=f"gepa export from {meta.get('source_run', '?')}",
            tags=tags,
        )
        version, created = int(registered.version), True
    if alias:
        mlflow.genai.set_prompt_alias(name=name, alias=alias, version=version)
    run_id = meta.get("mlflow_run_id")
    if run_id and created:  # the optimisation run that produced it, when that run was tracked
        from mlflow.tracking import MlflowClient

        MlflowClient(tracking_uri=tracking_uri).link_prompt_version_to_run(str(run_id), f"prompts:/{name}/{version}")
    return version, created
