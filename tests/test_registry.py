"""The prompt registry: export -> load round trip, promote-if-better both ways, concurrent exports, bad entries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import gepa
from gepa.cli import main
from gepa.errors import RegistryError
from gepa.registry import PromptRegistry
from tests.fakes import RULE_B, write_task

ROOT = Path(__file__).resolve().parent.parent


def run_once(tmp_path: Path, budget: int, name: str = "runs") -> Path:
    task = tmp_path / "toy" / "task.yaml"
    if not task.exists():
        write_task(tmp_path / "toy", n_test=40)  # enough test examples for a gain to be told from noise
    result = CliRunner().invoke(
        main, ["optimize", str(task), "--budget", str(budget), "--runs-dir", str(tmp_path / name), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    return sorted((tmp_path / name).iterdir())[-1]


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_export_then_load_round_trip(tmp_path: Path) -> None:
    run_dir = run_once(tmp_path, 60)
    prompts = tmp_path / "prompts"
    out = cli("export", str(run_dir), "--name", "toy", "--alias", "production", "--prompts-dir", str(prompts))
    assert "exported as toy v1" in out
    prompt = gepa.registry.load("toy@production", root=prompts)
    best = json.loads((run_dir / "best" / "candidate.json").read_text())
    assert dict(prompt.components) == best["components"]
    assert prompt.meta["source_run"] == str(run_dir) and prompt.meta["val_score"] == pytest.approx(0.8)
    messages = prompt.messages(text="[b] review 9 is positive")
    assert messages[1]["content"].startswith("Review: [b] review 9 is positive") and RULE_B in messages[1]["content"]
    again = cli("export", str(run_dir), "--name", "toy", "--prompts-dir", str(prompts))
    assert "already registered as toy v1" in again
    assert PromptRegistry(prompts).versions("toy") == [1]


def test_promote_if_better_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts = str(tmp_path / "prompts")
    weak = run_once(tmp_path, 20, "weak")  # seed only: test 0.2
    strong = run_once(tmp_path, 80, "strong")  # both rules: test 0.8
    cli("export", str(weak), "--name", "toy", "--alias", "production", "--prompts-dir", prompts)
    up = cli(
        "export", str(strong), "--name", "toy", "--alias", "production", "--promote-if-better", "--prompts-dir", prompts
    )
    assert "promoted: v2 test 0.800 against v1's 0.200: +0.600 (95% interval +0.350 to +0.800" in up
    assert "32 of 40 examples better, 8 worse" in up
    assert PromptRegistry(prompts).aliases("toy")["production"] == 2
    cli("prompts", "--prompts-dir", prompts, "promote", "toy", "1", "--alias", "candidate")
    down = cli(
        "export", str(weak), "--name", "toy", "--alias", "production", "--promote-if-better", "--prompts-dir", prompts
    )
    assert "not promoted" in down and "stays on v2" in down
    assert PromptRegistry(prompts).aliases("toy")["production"] == 2


def test_promote_scores_an_incumbent_without_a_test_score(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    strong = run_once(tmp_path, 80)
    registry = PromptRegistry(prompts)
    registry.publish(
        "toy",
        {"system": "You classify reviews.", "user": "Review: {{text}}"},
        {"note": "hand-made"},
        alias="production",
    )
    out = cli(
        "export",
        str(strong),
        "--name",
        "toy",
        "--alias",
        "production",
        "--promote-if-better",
        "--prompts-dir",
        str(prompts),
    )
    assert "against v1's 0.200" in out and out.startswith("exported")  # the incumbent was scored on test


EXPORT = """
import sys
from gepa.registry import PromptRegistry
PromptRegistry(sys.argv[1]).publish("shared", {"system": sys.argv[2]}, {"by": sys.argv[2]})
"""


def test_concurrent_exports_make_two_versions(tmp_path: Path) -> None:
    for _ in range(3):
        procs = [
            subprocess.Popen([sys.executable, "-c", EXPORT, str(tmp_path / "p"), text], cwd=ROOT)
            for text in ("alpha", "beta")
        ]
        assert [p.wait(timeout=60) for p in procs] == [0, 0]
    registry = PromptRegistry(tmp_path / "p")
    assert registry.versions("shared") == [1, 2]
    assert sorted(registry.get(f"shared@{v}").components["system"] for v in (1, 2)) == ["alpha", "beta"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda root: (root / "toy" / "aliases.json").write_text("{production: 1"), "aliases.json: not valid JSON"),
        (lambda root: (root / "toy" / "aliases.json").write_text('{"production": "one"}'), "must map alias names"),
        (lambda root: (root / "toy" / "v0001" / "system.txt").write_text("edited"), "content hash mismatch"),
        (lambda root: (root / "toy" / "v0001" / "meta.json").unlink(), "meta.json: missing"),
        (lambda root: (root / "toy" / "v0001" / "system.txt").unlink(), "system.txt: missing"),
    ],
)
def test_a_hand_edited_entry_is_a_clear_error(tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    registry = PromptRegistry(tmp_path)
    registry.publish("toy", {"system": "Be brief."}, {}, alias="production")
    damage(tmp_path)
    with pytest.raises(RegistryError, match=message):
        registry.get("toy@production")
    result = CliRunner().invoke(main, ["prompts", "--prompts-dir", str(tmp_path), "show", "toy@production"])
    assert result.exit_code == 2 and message.split(":")[0] in result.output


def test_unknown_names_and_aliases_list_what_exists(tmp_path: Path) -> None:
    registry = PromptRegistry(tmp_path)
    registry.publish("toy", {"system": "Be brief."}, {})
    with pytest.raises(RegistryError, match="no alias 'production'; aliases: latest"):
        registry.get("toy@production")
    with pytest.raises(RegistryError, match="known: toy"):
        registry.get("other")


def test_a_task_can_take_its_seed_from_the_registry(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    PromptRegistry(prompts).publish(
        "toy", {"system": "From the registry.", "user": "Review: {{text}}"}, {}, alias="production"
    )
    task = write_task(tmp_path / "toy")
    task.write_text(
        task.read_text().replace(
            'prompt:\n  system: "You classify reviews."\n  user: "Review: {{text}}"\n',
            "prompt: {registry: toy@production}\n",
        )
    )
    out = cli("optimize", str(task), "--dry-run")
    assert "[system] From the registry." in out


def test_prompts_list_show_diff(tmp_path: Path) -> None:
    registry = PromptRegistry(tmp_path)
    registry.publish("toy", {"system": "Be brief."}, {})
    registry.publish("toy", {"system": "Be very brief."}, {})
    prompts = ["prompts", "--prompts-dir", str(tmp_path)]
    assert "toy  versions 2  latest=v2" in cli(*prompts, "list")
    assert "Be very brief." in cli(*prompts, "show", "toy")
    diff = cli(*prompts, "diff", "toy@1", "toy@2")
    assert "-Be brief." in diff and "+Be very brief." in diff


def test_export_to_mlflow_and_load_back(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    run_dir = run_once(tmp_path, 60)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = cli("export", str(run_dir), "--name", "toy", "--alias", "production", "--to", "mlflow", "--mlflow-uri", uri)
    assert "registered in MLflow as prompts:/toy/1 (alias production)" in out
    again = cli("export", str(run_dir), "--name", "toy", "--to", "mlflow", "--mlflow-uri", uri)
    assert "already in MLflow as prompts:/toy/1" in again
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    prompt = mlflow.genai.load_prompt("prompts:/toy@production")
    best = json.loads((run_dir / "best" / "candidate.json").read_text())["components"]
    messages = prompt.format(text="[b] review 9 is positive")
    assert messages[0] == {"role": "system", "content": best["system"]}
    assert messages[1]["content"] == best["user"].replace("{{text}}", "[b] review 9 is positive")
    assert prompt.tags["gepa.val_score"] == "0.8"


@pytest.mark.parametrize(("better", "promoted"), [(2, False), (30, True)])
def test_promotion_needs_a_gain_noise_cannot_explain(tmp_path: Path, better: int, promoted: bool) -> None:
    """A new version better on 2 of 40 test examples (worse on none) stays out; one better on 30 of 40 goes in."""
    from gepa.run.export import export_run
    from gepa.run.rundir import RunDir

    run = run_once(tmp_path, 80)
    registry = PromptRegistry(tmp_path / "prompts")
    registry.publish("toy", {"system": "incumbent", "user": "Review: {{text}}"}, {}, alias="production")
    old = [0.0] * 40
    new = [1.0] * better + [0.0] * (40 - better)
    result = export_run(
        RunDir.open(run),
        "toy",
        registry=registry,
        alias="production",
        promote_if_better=True,
        scorer=lambda c: old if c["system"] == "incumbent" else new,
    )
    assert result.promoted is promoted
    assert registry.aliases("toy")["production"] == (2 if promoted else 1)
    assert f"{better} of 40 examples better, 0 worse" in result.reason
    decision = json.loads((tmp_path / "prompts" / "toy" / "v0002" / "meta.json").read_text())["promotion"]
    assert decision["alias"] == "production" and decision["against"] == 1 and decision["promoted"] is promoted
    assert decision["better"] == better and decision["worse"] == 0 and decision["n"] == 40
    assert decision["mean"] == pytest.approx(better / 40) and (decision["low"] > 0) is promoted
    if not promoted:
        assert "noise could explain" in result.reason
        old_rule = export_run(
            RunDir.open(run),
            "toy",
            registry=registry,
            alias="production",
            promote_if_better=True,
            any_gain=True,
            scorer=lambda c: old if c["system"] == "incumbent" else new,
        )
        assert old_rule.promoted  # --any-gain keeps the old rule for those who ask for it


def test_a_run_tracked_in_mlflow_holds_params_history_artifacts_and_the_exported_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # MLflow keeps a sqlite store's artifacts in ./mlruns
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    task = write_task(
        tmp_path / "toy", budget=60, extra=f"tracking: {{mlflow: {{uri: '{uri}', experiment: toy-search}}}}\n"
    )
    out = cli("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    run_dir = next((tmp_path / "runs").iterdir())
    run_id = json.loads((run_dir / "mlflow_run.json").read_text())["run_id"]
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and "warning" not in out
    assert run.data.params["task_model"] == "fake/tests.fakes:task_model"
    assert run.data.params["optimizer.max_metric_calls"] == "60"
    history = sorted(client.get_metric_history(run_id, "best_val"), key=lambda m: (m.step, m.timestamp))
    assert len(history) >= 3 and history[0].value == pytest.approx(0.2) and history[-1].value == pytest.approx(0.8)
    assert run.data.metrics["best_test"] == pytest.approx(0.8) and "gain_test_low" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"report.html", "summary.json", "best"} <= artifacts
    cli("export", str(run_dir), "--name", "toy", "--to", "mlflow", "--mlflow-uri", uri)
    import mlflow

    mlflow.set_registry_uri(uri)
    mlflow.set_tracking_uri(uri)
    prompt = mlflow.genai.load_prompt("prompts:/toy/1")
    assert prompt.tags["gepa.mlflow_run_id"] == run_id


def test_track_mlflow_tracks_a_run_whose_task_file_does_not_ask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    task = write_task(tmp_path / "toy", budget=40)
    cli("optimize", str(task), "--runs-dir", str(tmp_path / "plain"), "--quiet")
    assert not (next((tmp_path / "plain").iterdir()) / "mlflow_run.json").exists()  # not asked: not tracked
    # a process of its own, as a user runs it: MLflow keeps a tracking URI an earlier test set in this one
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gepa",
            "optimize",
            str(task),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--quiet",
            "--track",
            "mlflow",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    recorded = json.loads((next((tmp_path / "runs").iterdir()) / "mlflow_run.json").read_text())
    assert recorded["experiment"] == "gepa"
    run = MlflowClient(tracking_uri=uri).get_run(recorded["run_id"])  # in the store the environment names
    assert run.info.status == "FINISHED" and run.data.params["optimizer.max_metric_calls"] == "40"


def test_a_tracking_failure_is_one_warning_and_the_run_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    task = write_task(
        tmp_path / "toy", budget=40, extra=f"tracking: {{mlflow: {{uri: 'sqlite:///{blocker}/mlflow.db'}}}}\n"
    )
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.count("warning: MLflow tracking stopped") == 1
    assert (next((tmp_path / "runs").iterdir()) / "summary.json").is_file()
