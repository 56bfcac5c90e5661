"""IFEval scoring for gepa: the fraction of a prompt's verifiable instructions the output follows, with
feedback that names each instruction and whether it passed (so the reflector sees what to fix)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent / "ifeval_checkers"


def _registry() -> Any:
    """Import the vendored checkers as a package from this folder (task files are loaded by path)."""
    if "ifeval_checkers" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "ifeval_checkers", _PACKAGE / "__init__.py", submodule_search_locations=[str(_PACKAGE)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["ifeval_checkers"] = module
        spec.loader.exec_module(module)
    from ifeval_checkers import instructions_registry

    return instructions_registry


def score(fields: dict[str, Any], output: str) -> tuple[float, str]:
    registry = _registry()
    verdicts = []
    for instruction_id, kwargs in zip(fields["instruction_id_list"], fields["kwargs"], strict=True):
        checker = registry.INSTRUCTION_DICT[instruction_id](instruction_id)
        description = checker.build_description(**{k: v for k, v in (kwargs or {}).items() if v is not None})
        if "prompt" in (checker.get_instruction_args_keys() or []):
            description = checker.build_description(prompt=fields["prompt"])
        passed = bool(output.strip()) and bool(checker.check_following(output))
        verdicts.append((passed, instruction_id, description))
    followed = sum(passed for passed, _, _ in verdicts)
    feedback = " ".join(f"{'PASSED' if passed else 'FAILED'} [{iid}] {text}" for passed, iid, text in verdicts)
    return followed / len(verdicts), f"{followed} of {len(verdicts)} instructions followed. {feedback}"
