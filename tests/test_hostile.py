"""Faults found by hostile use, one test each, through the CLI where a user meets them: the exit code, the
message, and that nothing was lost or written where it should not be."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main
from tests.fakes import write_task


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def finished_run(tmp_path: Path, budget: int = 30) -> Path:
    task = write_task(tmp_path / "toy", budget=budget)
    code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert code == 0, out
    return next((tmp_path / "runs").iterdir())


# -- 0: the registry never writes outside prompts/ ----------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["export", "{run}", "--name", "x@/../../../escape", "--prompts-dir", "{prompts}"],
        ["export", "{run}", "--name", "../../escape", "--prompts-dir", "{prompts}"],
        ["export", "{run}", "--name", "toy", "--alias", "../../escape", "--prompts-dir", "{prompts}"],
        ["export", "{run}", "--name", "n" * 300, "--prompts-dir", "{prompts}"],
        ["prompts", "--prompts-dir", "{prompts}", "promote", "../../escape", "1", "--alias", "pwned"],
        ["prompts", "--prompts-dir", "{prompts}", "promote", "../../newdir", "1", "--alias", "x"],
        ["prompts", "--prompts-dir", "{prompts}", "promote", "toy", "1", "--alias", "../../../pwned"],
        ["prompts", "--prompts-dir", "{prompts}", "show", "toy@../../x"],
    ],
)
def test_no_name_alias_or_version_reaches_outside_the_registry(tmp_path: Path, args: list[str]) -> None:
    run = finished_run(tmp_path)
    prompts = tmp_path / "area" / "prompts"
    assert invoke("export", str(run), "--name", "toy", "--prompts-dir", str(prompts))[0] == 0
    before = files_under(tmp_path)
    code, out = invoke(*(a.format(run=run, prompts=prompts) for a in args))
    assert code == 2, out
    assert "invalid" in out and "Traceback" not in out
    assert files_under(tmp_path) == before  # nothing written anywhere, a lock file included


# -- 6 and 9: data files are read by the csv and json modules, and silently wrong data is a named error ----
def task_on(tmp_path: Path, name: str, data: bytes, evaluator: str = "{type: exact, expected: label}") -> Path:
    folder = tmp_path / "t"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    (folder / "val.jsonl").write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n')
    task = folder / "task.yaml"
    task.write_text(
        f"name: t\nprompt: {{user: '{{{{text}}}}'}}\ndata: {{train: {name}, val: val.jsonl}}\n"
        f"model: fake/echo\nevaluator: {evaluator}\n"
    )
    return task


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("train.csv", b"text,label\nok,x\n\xff\xfe broken,y\n", "train.csv:3: not UTF-8 text (byte 0xff)"),
        (
            "train.jsonl",
            b'{"text": "a", "label": "x"}\n{"text": "\xe9t\xe9", "label": "y"}\n',
            "train.jsonl:2: not UTF-8",
        ),
        ("train.csv", b"text,label\nfine,x\nshort\n", "train.csv:3: this row has no value for 'label'"),
        ("train.csv", b"text,label\nfine,x,extra\n", "train.csv:2: this row has more cells than the header"),
        (
            "train.jsonl",
            b'{"id": 1, "text": "a", "label": "x"}\n{"id": 1, "text": "b", "label": "y"}\n',
            "two train examples share the id 1",
        ),
        ("train.jsonl", b'{"text": "a", "label": "x"}\n[1, 2]\n', "train.jsonl:2: each line must be a JSON object"),
    ],
)
def test_bad_data_is_a_named_error_at_validate(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    code, out = invoke("validate", str(task_on(tmp_path, name, data)))
    assert code == 2 and message in out and "Traceback" not in out, out


def test_bom_quoted_newlines_and_line_separators_survive(tmp_path: Path) -> None:
    from gepa.taskfile.data import read_rows

    csv_file = tmp_path / "rows.csv"
    csv_file.write_bytes('\ufefftext,label\n"two\nlines",x\n'.encode())
    assert read_rows(csv_file) == [{"text": "two\nlines", "label": "x"}]
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text('{"text": "a\u2028b", "label": "x"}\n', encoding="utf-8")
    assert read_rows(jsonl) == [{"text": "a\u2028b", "label": "x"}]


def test_an_invalid_evaluator_schema_is_caught_at_validate(tmp_path: Path) -> None:
    task = task_on(
        tmp_path, "train.jsonl", b'{"text": "a", "label": "x"}\n', evaluator="{type: json, schema: {type: objekt}}"
    )
    code, out = invoke("validate", str(task))
    assert code == 2 and "not a valid JSON Schema" in out and "task.yaml" in out, out


def test_events_with_line_separators_are_read_back(tmp_path: Path) -> None:
    from gepa.run.rundir import RunDir

    run_dir = RunDir.create(tmp_path, "t")
    run_dir.append_event({"kind": "budget", "note": "a\u2028b"})
    run_dir.append_event({"kind": "budget", "note": "c"})
    assert [e["note"] for e in run_dir.events()] == ["a\u2028b", "c"]


# -- 5: a score that is not a number in [0, 1] is an evaluator error, never a silent 0 or 1 ------------
@pytest.mark.parametrize("returned", ['"good"', 'float("nan")', "1.5", "None"])
def test_an_evaluator_that_never_returns_a_score_stops_the_run(tmp_path: Path, returned: str) -> None:
    task = write_task(tmp_path / "toy", budget=40)
    (tmp_path / "toy" / "score.py").write_text(f"def score(fields, output):\n    return {returned}\n")
    task.write_text(
        task.read_text().replace(
            "evaluator:\n  type: exact\n  expected: label", "evaluator:\n  type: python\n  function: score.py:score"
        )
    )
    code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"))
    assert code == 2, out
    assert "the evaluator failed on every validation example of the seed" in out
    assert "evaluator python:gepa_user_score.score failed on example val/0" in out
    assert "a score must be a number in [0, 1]" in out and "Traceback" not in out


def test_a_bad_score_on_some_examples_is_an_error_on_those_only(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=40)
    (tmp_path / "toy" / "score.py").write_text(
        "def score(fields, output):\n    if '101' in fields['text']:\n        return 1.5\n"
        "    return float(output == fields['label'])\n"
    )
    task.write_text(
        task.read_text().replace(
            "evaluator:\n  type: exact\n  expected: label", "evaluator:\n  type: python\n  function: score.py:score"
        )
    )
    code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert code == 0, out
    from gepa.run.rundir import RunDir

    state = RunDir.open(next((tmp_path / "runs").iterdir())).load_state()
    bad = state.rollouts[state.candidates[0].id]["val/1"]
    assert bad.score == 0.0 and bad.error_source == "evaluator" and bad.error and "returned the score 1.5" in bad.error


# -- 1: an unreachable model server stops the run with one line, within a minute ------------------------
def test_an_unreachable_server_stops_the_run_with_its_address(
    tmp_path: Path, allow_local_http: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import time

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    task = write_task(tmp_path / "toy", model="openai/gpt-4o-mini", extra=f"api_base: http://127.0.0.1:{port}/v1\n")
    started = time.monotonic()
    code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"))
    assert time.monotonic() - started < 60
    assert code == 1, out
    assert f"model 'openai/gpt-4o-mini' at http://127.0.0.1:{port}/v1" in out and "Connection" in out
    assert "Traceback" not in out
    code, out = invoke("validate", str(task), "--check-models")
    assert code == 1 and f"127.0.0.1:{port}" in out


def test_check_models_probes_each_model_once(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", reflection_model="fake/echo")
    code, out = invoke("validate", str(task), "--check-models")
    assert code == 0, out
    assert "fake/tests.fakes:task_model: answered 'unsure'" in out
    assert "fake/echo: answered 'Reply with the word OK.'" in out


# -- 7: retry hints in milliseconds and as HTTP dates, honoured up to the openai SDK's limit -------------
def test_retry_hints_in_every_form() -> None:
    import email.utils

    from gepa.lm.provider_errors import parse_retry_after

    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    date = email.utils.formatdate(1_000_045, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=1_000_000) == pytest.approx(45.0)
    assert parse_retry_after({"retry-after": "soon"}) is None and parse_retry_after({}) is None


def test_a_long_retry_hint_is_honoured_up_to_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    from gepa.errors import TransientModelError
    from gepa.lm import FakeModel, ModelClient

    slept: list[float] = []
    monkeypatch.setattr("tenacity.nap.time.sleep", slept.append)
    backend = FakeModel(lambda m, p: "ok")
    for hint in (45.0, 600.0):
        error = TransientModelError("429", model="fake/model", status_code=429)
        error.retry_after = hint
        backend.fail_with(error)
    client = ModelClient(backend, role="task", backoff_max=30.0)
    assert client.complete([{"role": "user", "content": "hi"}], {"temperature": 0}).text == "ok"
    assert slept == [45.0, 60.0]


# -- 11: a provider error that echoes the key never reaches the disk ------------------------------------
def test_a_provider_error_echoing_the_key_is_redacted(
    tmp_path: Path, allow_local_http: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json as jsonlib

    from pytest_httpserver import HTTPServer
    from werkzeug import Request, Response

    key = "sk-live-abcdefghijklmnop1234"
    monkeypatch.setenv("OPENAI_API_KEY", key)

    def echo_header(request: Request) -> Response:
        body = {
            "error": {
                "message": f"bad request; you sent Authorization: {request.headers.get('Authorization')}",
                "type": "invalid_request_error",
                "code": 400,
            }
        }
        return Response(jsonlib.dumps(body), status=400, content_type="application/json")

    with HTTPServer(host="127.0.0.1") as server:
        server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(echo_header)
        task = write_task(
            tmp_path / "toy", model="openai/gpt-4o-mini", budget=30, extra=f"api_base: {server.url_for('/v1')}\n"
        )
        _code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"))
    assert key not in out
    assert "you sent Authorization: Bearer [redacted]" in out  # the seed failed on every example: the run stops
    written = "".join(p.read_text() for p in (tmp_path / "runs").rglob("*") if p.is_file())
    assert key not in written


# -- 3: overrides that change what is measured are refused on resume; a larger budget continues ----------
def test_resume_refuses_a_changed_model_and_continues_with_a_larger_budget(tmp_path: Path) -> None:
    import json

    run_dir = finished_run(tmp_path, budget=30)
    task = tmp_path / "toy" / "task.yaml"
    before = (run_dir / "state.json").read_text()
    for override in (["--model", "fake/echo"], ["--reflection-model", "fake/echo"], ["--seed", "3"]):
        code, out = invoke("optimize", str(task), "--resume", str(run_dir), *override)
        assert code == 2 and "changed since this run started" in out, out
    assert (run_dir / "state.json").read_text() == before
    finished = json.loads(before)
    code, out = invoke("optimize", str(task), "--resume", str(run_dir), "--budget", "80", "--concurrency", "2")
    assert code == 0, out
    extended = json.loads((run_dir / "state.json").read_text())
    assert extended["finished"] and extended["metric_calls"] > finished["metric_calls"]
    assert extended["iteration"] > finished["iteration"]
    assert json.loads((run_dir / "config.json").read_text())["optimizer"]["max_metric_calls"] == 80


# -- 4: one process at a time in a run directory -------------------------------------------------------
def test_a_second_process_in_the_same_run_is_refused(tmp_path: Path) -> None:
    from gepa.run.rundir import RunDir

    run_dir = finished_run(tmp_path)
    task = tmp_path / "toy" / "task.yaml"
    events_before = (run_dir / "events.jsonl").read_text()
    with RunDir.open(run_dir).lock():  # another process holds it (filelock refuses a second holder alike)
        code, out = invoke("optimize", str(task), "--resume", str(run_dir), "--budget", "80")
    assert code == 2 and "another gepa process is working in this run" in out, out
    assert (run_dir / "events.jsonl").read_text() == events_before


def test_two_processes_resuming_at_once_write_one_run(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    task = write_task(tmp_path / "toy", model="fake/tests.fakes:slow_task_model", budget=30)
    _code, _out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    run_dir = next((tmp_path / "runs").iterdir())
    env = {**os.environ, "PYTHONPATH": str(root), "GEPA_CACHE_DIR": str(tmp_path / "cache")}
    args = [sys.executable, "-m", "gepa", "optimize", str(task), "--resume", str(run_dir), "--budget", "120", "-q"]
    both = [
        subprocess.Popen(args, cwd=root, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in both]
    assert sorted(code for code, _ in results) == [0, 2], results
    assert any("another gepa process" in err for _, err in results)
    kinds = [line for line in (run_dir / "events.jsonl").read_text().splitlines() if '"run_finished"' in line]
    assert len(kinds) == 2  # the first run's end and the one extension; never two at once


# -- 12: what an idle run says -------------------------------------------------------------------------
def test_a_run_whose_every_reflection_fails_says_so(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=60, reflection_model="fake/tests.fakes:failing_reflector")
    code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"))
    assert code == 0, out
    assert (
        "proposals failed: the reflection model's calls failed, the first with ModelCallError: model "
        "'fake/reflector': BadRequestError (HTTP 400): context window exceeded" in out
    )
    assert "perfect minibatches" not in out


# -- 2: a damaged response cache is named, skipped with a warning, and can always be cleared ------------
def test_a_corrupt_cache_is_named_skipped_and_cleared(tmp_path: Path) -> None:
    from gepa.lm import Completion, ResponseCache

    cache = tmp_path / "cache"
    task = write_task(tmp_path / "toy", budget=30)
    filled = ResponseCache(cache)
    for i in range(200):
        filled.put(f"key {i}", Completion(text="x" * 500))
    filled.close()
    database = cache / "cache.db"
    database.write_bytes(database.read_bytes()[: database.stat().st_size // 2])
    code, out = invoke("cache", "stats", "--cache-dir", str(cache))
    assert code == 2 and f"the response cache at {cache} cannot be used" in out and "gepa cache clear" in out
    code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--cache-dir", str(cache), "-q")
    assert code == 0 and "warning:" in out and "running without the cache" in out and "Traceback" not in out
    code, out = invoke("cache", "clear", "--yes", "--cache-dir", str(cache))
    assert code == 0, out
    code, out = invoke("cache", "stats", "--cache-dir", str(cache))
    assert code == 0 and "0 responses" in out


# -- 10: messages where tracebacks were -----------------------------------------------------------------
def test_resuming_after_the_data_changed_is_refused(tmp_path: Path) -> None:
    run_dir = finished_run(tmp_path)
    val = tmp_path / "toy" / "data" / "val.jsonl"
    val.write_text("".join(val.read_text().splitlines(keepends=True)[:6]))
    code, out = invoke("optimize", str(tmp_path / "toy" / "task.yaml"), "--resume", str(run_dir), "--budget", "90")
    assert code == 2 and "the data changed since this run started" in out and "Traceback" not in out


def test_a_read_only_runs_directory_is_a_message(tmp_path: Path) -> None:
    import os

    runs = tmp_path / "runs"
    if os.geteuid() == 0:  # root writes anywhere; a file where a directory should be fails for everyone
        (tmp_path / "blocked").write_text("a file")
        runs = tmp_path / "blocked" / "runs"
    else:
        runs.mkdir()
        runs.chmod(0o500)
    task = write_task(tmp_path / "toy")
    code, out = invoke("optimize", str(task), "--runs-dir", str(runs))
    assert code == 1 and "Error: cannot write or read" in out and str(tmp_path) in out, out
    assert "Traceback" not in out


def test_one_broken_run_does_not_hide_the_others(tmp_path: Path) -> None:
    good = finished_run(tmp_path)
    broken = tmp_path / "runs" / "toy-broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    (broken / "summary.json").write_text("{truncated")
    code, out = invoke("runs", "list", "--runs-dir", str(tmp_path / "runs"))
    assert code == 0, out
    assert good.name in out and "finished" in out
    assert "toy-broken  broken" in out and "corrupt or truncated JSON" in out


# -- 8: a checkpoint writes the new work only; leftovers of a crash are ignored --------------------------
def test_rollouts_live_in_an_append_only_log_that_survives_a_torn_write(tmp_path: Path) -> None:
    import json

    from gepa.run.rundir import RunDir

    run_dir = finished_run(tmp_path, budget=40)
    state_file = json.loads((run_dir / "state.json").read_text())
    log = (run_dir / "rollouts.jsonl").read_text().splitlines()
    assert "rollouts" not in state_file and state_file["rollouts_logged"] == len(log)
    assert len(log) == state_file["metric_calls"]  # one line per paid rollout; test scoring is not a metric call
    with open(run_dir / "rollouts.jsonl", "a") as handle:  # a crash after appending, before state.json moved on
        handle.write(log[-1] + "\n" + '{"candidate": "torn", "exam')
    state = RunDir.open(run_dir).load_state()
    assert len(state.rollout_log) == len(log) and "torn" not in state.rollouts
    code, out = invoke("optimize", str(tmp_path / "toy" / "task.yaml"), "--resume", str(run_dir), "--budget", "80")
    assert code == 0, out
    resumed = (run_dir / "rollouts.jsonl").read_text()
    assert "torn" not in resumed and resumed.startswith("\n".join(log))
    assert json.loads((run_dir / "state.json").read_text())["rollouts_logged"] == len(resumed.splitlines())


def test_a_run_recorded_before_newer_settings_existed_still_resumes(tmp_path: Path) -> None:
    """A run made by an older gepa has no objectives, select, validation or executor in config.json and no
    val_objectives in state.json: those hold their defaults, so a larger budget continues it."""
    import json

    run_dir = finished_run(tmp_path, budget=30)
    config = json.loads((run_dir / "config.json").read_text())
    for key in (
        "objectives",
        "select",
        "validation",
        "validation_subset",
        "executor",
        "ray_address",
        "ray_cpus_per_rollout",
        "ray_gpus_per_rollout",
    ):
        config["optimizer"].pop(key, None)
        config["task"]["optimizer"].pop(key, None)
    for key in ("objectives", "select"):
        config["task"].pop(key, None)
    (run_dir / "config.json").write_text(json.dumps(config))
    state = json.loads((run_dir / "state.json").read_text())
    state.pop("val_objectives")
    (run_dir / "state.json").write_text(json.dumps(state))
    code, out = invoke("optimize", str(tmp_path / "toy" / "task.yaml"), "--resume", str(run_dir), "--budget", "80")
    assert code == 0, out
    resumed = json.loads((run_dir / "state.json").read_text())
    assert resumed["metric_calls"] > state["metric_calls"]
    assert len(resumed["val_objectives"]) == len(resumed["candidates"])
