"""Component names become file names (``best/<name>.txt``, ``prompts/<name>/v0001/<name>.txt``), so a name that
could leave its folder is refused on every path that takes one: a task file (at validate, with its line), Python,
and a registry entry whose meta.json was edited by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import gepa
from gepa.cli import main
from gepa.errors import RegistryError, UserError
from gepa.lm import FakeModel
from gepa.registry import PromptRegistry
from tests.fakes import make_rows, write_task

BAD_NAMES = ["../../../ESCAPED", "/abs/path/ABS", "sub/dir", "..", "nul\x00byte", ".hidden", ""]


def files_under(root: Path) -> set[Path]:
    """Every path under ``root`` but the response cache (which the CLI opens before it reads the task)."""
    return {p for p in root.rglob("*") if "cache" not in p.relative_to(root).parts[:1]}


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_task_file_with_a_path_like_component_name_is_refused_at_validate(tmp_path: Path, name: str) -> None:
    task = write_task(tmp_path / "toy")
    text = task.read_text().replace(
        '  user: "Review: {{text}}"\n', f'  user: "Review: {{{{text}}}}"\n  {json.dumps(name)}: "x"\n'
    )
    task.write_text(text)
    before = files_under(tmp_path)
    for command in (["validate", str(task)], ["optimize", str(task), "--runs-dir", str(tmp_path / "runs")]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, result.output
        assert "invalid component name" in result.output and "Traceback" not in result.output
        assert f"{task}:5" in result.output  # the line of the bad key
    assert files_under(tmp_path) == before  # no run directory, no stray .txt


@pytest.mark.parametrize("name", BAD_NAMES)
def test_the_python_api_refuses_a_path_like_component_name_before_any_call(tmp_path: Path, name: str) -> None:
    task_model = FakeModel(lambda messages, params: "positive")
    with pytest.raises(UserError, match="invalid component name"):
        gepa.optimize(
            {"system": "Classify.", name: "{{text}}"},
            make_rows(4),
            make_rows(4, 100),
            task_model=task_model,
            reflection_model=FakeModel(),
            evaluator=gepa.evaluators.Exact(expected="label"),
            config=gepa.OptimizerConfig(max_metric_calls=20),
            cache_dir=tmp_path / "cache",
        )
    assert task_model.history == []


def tampered_registry(root: Path, components: list[str], *, keep_hash: bool) -> None:
    PromptRegistry(root).publish("p", {"system": "Be brief."}, {}, alias="production")
    (root.parent / "secret.txt").write_text("the secret")
    meta_path = root / "p" / "v0001" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["components"] = components
    if not keep_hash:
        del meta["content_hash"]
    meta_path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("components", "keep_hash", "message"),
    [
        (["system", "../../secret"], False, "has no 'content_hash'"),
        (["system", "../../secret"], True, "invalid component name '../../secret'"),
        (["system", "/etc/hostname"], True, "invalid component name '/etc/hostname'"),
    ],
)
def test_a_tampered_registry_entry_reads_nothing_outside_prompts(
    tmp_path: Path, components: list[str], keep_hash: bool, message: str
) -> None:
    root = tmp_path / "prompts"
    tampered_registry(root, components, keep_hash=keep_hash)
    with pytest.raises(RegistryError, match=message):
        PromptRegistry(root).get("p@production")
    shown = CliRunner().invoke(main, ["prompts", "--prompts-dir", str(root), "show", "p@production"])
    assert shown.exit_code == 2 and message.split("'")[0] in shown.output
    assert "the secret" not in shown.output

    task = write_task(tmp_path / "toy", model="fake/tests.fakes:task_model")
    task.write_text(
        task.read_text().replace(
            'prompt:\n  system: "You classify reviews."\n  user: "Review: {{text}}"\n',
            "prompt: {registry: p@production}\n",
        )
    )
    run = CliRunner().invoke(
        main,
        [
            "optimize",
            str(task),  # GEPA_PROMPTS_DIR is tmp_path/prompts
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
    )
    assert run.exit_code == 2 and message.split("'")[0] in run.output, run.output
    assert not (tmp_path / "runs").exists()  # refused before any call, so the secret reached no model


def test_a_registry_entry_without_a_content_hash_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "prompts"
    tampered_registry(root, ["system"], keep_hash=False)
    with pytest.raises(RegistryError, match="has no 'content_hash'"):
        PromptRegistry(root).get("p@production")
