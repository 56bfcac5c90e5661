"""A server that answers every call with something that is not a completion (an HTML page, no choices,
broken JSON, a 400) stops the run at the seed with the real error, as an unreachable server does: it does not
burn the budget, exit 0 with val 0.000 and advise a stronger reflector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Response

from gepa.cli import main
from tests.fakes import write_task

pytestmark = pytest.mark.usefixtures("allow_local_http")

REPLIES = {
    "html page": (
        lambda: Response("<html><body>Login required</body></html>", status=200, content_type="text/html"),
        "<html><body>Login required",
    ),
    "no choices": (
        lambda: Response(
            json.dumps({"id": "x", "object": "chat.completion", "choices": []}),
            status=200,
            content_type="application/json",
        ),
        "IndexError",
    ),
    "broken json": (
        lambda: Response('{"id": "x", "choices": [', status=200, content_type="application/json"),
        "Expecting value",
    ),
    "400": (
        lambda: Response(
            json.dumps({"error": {"message": "temperature must be a number", "type": "invalid"}}),
            status=400,
            content_type="application/json",
        ),
        "temperature must be a number",
    ),
}


@pytest.mark.parametrize("model", ["openai/scripted", "hosted_vllm/scripted"], ids=["openai-sdk", "litellm"])
@pytest.mark.parametrize("reply", list(REPLIES))
def test_a_seed_whose_every_rollout_fails_stops_the_run_naming_the_error(
    tmp_path: Path, server: HTTPServer, monkeypatch: pytest.MonkeyPatch, model: str, reply: str
) -> None:
    respond, expected = REPLIES[reply]
    server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(lambda request: respond())  # type: ignore[no-untyped-call]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    log = tmp_path / "reflection.jsonl"
    monkeypatch.setenv("GEPA_TEST_REFLECTION_LOG", str(log))
    task = write_task(
        tmp_path / "toy",
        model=model,
        reflection_model="fake/tests.fakes:recording_reflector",
        budget=40,
        extra=f"api_base: {server.url_for('/v1')}\n",
    )
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--no-cache"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "stronger reflector" not in result.output
    assert "every rollout of the seed failed on the 10 validation examples" in result.output
    assert f"model {model!r}" in result.output and expected in result.output
    assert not log.exists()  # no reflection was asked for
    assert len(server.log) <= 10 * 6  # the seed's validation examples, each within its retries
