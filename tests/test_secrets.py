"""A key lives in whatever variable the task names (``api_key_env: LLM_CRED``), and a provider may echo it in an
error body. Its value must reach no terminal, no run file and no reflection request, on both HTTP backends."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from gepa.cli import main
from tests.fakes import write_task

pytestmark = pytest.mark.usefixtures("allow_local_http")

KEY = "cred-7f3a9c21e4b8d605"  # no sk- prefix and a name without KEY/TOKEN: only the task says it is a secret


def echoing(status: int):  # type: ignore[no-untyped-def]
    """A server that answers every call with ``status`` and a body quoting the key the request carried."""

    def reply(request: Request) -> Response:
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        body = {
            "error": {"message": f"no access for credential {key} on this deployment", "type": "error", "code": status}
        }
        return Response(json.dumps(body), status=status, content_type="application/json")

    return reply


@pytest.mark.parametrize("model", ["openai/scripted", "hosted_vllm/scripted"], ids=["openai-sdk", "litellm"])
@pytest.mark.parametrize("status", [400, 401, 500])
def test_a_key_echoed_by_the_server_is_never_printed_stored_or_sent(
    tmp_path: Path,
    server: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    recwarn: pytest.WarningsRecorder,
    model: str,
    status: int,
) -> None:
    monkeypatch.setenv("LLM_CRED", KEY)
    log = tmp_path / "reflection.jsonl"
    monkeypatch.setenv("GEPA_TEST_REFLECTION_LOG", str(log))
    server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(echoing(status))
    task = write_task(
        tmp_path / "toy",
        model=model,
        reflection_model="fake/tests.fakes:recording_reflector",
        budget=40,
        extra=f"api_base: {server.url_for('/v1')}\napi_key_env: LLM_CRED\n",
    )
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--no-cache"])
    assert len(server.log) >= 1  # the server was reached and echoed the key
    assert KEY in server.log[0][0].headers.get("Authorization", "")
    assert KEY not in result.output and "Traceback" not in result.output
    shown = result.output + "".join(p.read_text() for p in (tmp_path / "runs").rglob("*.json*"))
    assert "credential [redacted]" in shown  # the error itself still reaches the user, without the key
    gc.collect()  # a dropped coroutine warns when it is collected
    assert [str(w.message) for w in recwarn if "never awaited" in str(w.message)] == []
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != task]
    leaked = [str(p) for p in written if KEY.encode() in p.read_bytes()]
    assert leaked == []
    if log.exists():
        assert KEY not in log.read_text()
