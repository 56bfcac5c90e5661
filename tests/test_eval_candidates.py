"""``gepa eval`` checks the prompt it scores as a task's seed is checked: a candidate file or registry prompt whose
placeholder no field fills is exit 2 naming it, before any call, not a score of 0.000 that passes as exit 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main
from gepa.registry import PromptRegistry
from tests.fakes import RULE_A, write_task


def candidate_file(tmp_path: Path, user: str) -> Path:
    path = tmp_path / "cand.json"
    path.write_text(json.dumps({"components": {"system": f"You classify reviews. {RULE_A}", "user": user}}))
    return path


@pytest.mark.parametrize(
    ("user", "problem"),
    [
        ("Review: {{body}}", "placeholder {{body}} in prompt component 'user' has no matching field in the data"),
        ("Review: {{text", "unclosed placeholder {{text in prompt component 'user'"),
    ],
)
def test_a_candidate_file_no_field_fills_is_refused_naming_it(tmp_path: Path, user: str, problem: str) -> None:
    task = write_task(tmp_path / "toy")
    candidate = candidate_file(tmp_path, user)
    results = tmp_path / "results.jsonl"
    result = CliRunner().invoke(
        main, ["eval", str(task), "--prompt", str(candidate), "--min-score", "0.5", "-o", str(results)]
    )
    assert result.exit_code == 2, result.output
    assert f"Error: {candidate}: {problem}" in result.output and "Traceback" not in result.output
    assert "score" not in result.output and not results.exists()  # nothing was scored


def test_a_registry_prompt_no_field_fills_is_refused_naming_it(tmp_path: Path) -> None:
    PromptRegistry(tmp_path / "prompts").publish("other", {"system": "Translate: {{sentence}}"}, {}, alias="latest")
    task = write_task(tmp_path / "toy")
    result = CliRunner().invoke(main, ["eval", str(task), "--prompt", "other@latest"])
    assert result.exit_code == 2, result.output
    assert "Error: other@latest: placeholder {{sentence}} in prompt component 'system'" in result.output


def test_a_candidate_file_that_fits_is_scored(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy")
    result = CliRunner().invoke(
        main, ["eval", str(task), "--prompt", str(candidate_file(tmp_path, "Review: {{text}}")), "--split", "val"]
    )
    assert result.exit_code == 0, result.output
    assert "val score 0.400 on 10 examples" in result.output
