"""The prompt registry: versioned prompts under ``prompts/<name>/`` (``store``), loadable by name from any
pipeline (``gepa.registry.load("sentiment@production")``), and their export to MLflow's registry (``mlflow``,
the optional extra)."""

from gepa.registry.store import (
    VERSION_REF,
    PromptRegistry,
    PromptVersion,
    checked,
    default_root,
    load,
    parse_ref,
    version_number,
)

__all__ = [
    "VERSION_REF",
    "PromptRegistry",
    "PromptVersion",
    "checked",
    "default_root",
    "load",
    "parse_ref",
    "version_number",
]
