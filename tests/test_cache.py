"""The response cache: hits across processes, misses on any change, no cached errors, safe concurrent writers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gepa.errors import ModelCallError
from gepa.lm import FakeModel, ModelClient, ResponseCache, UsageLedger
from gepa.lm.base import Message
from gepa.lm.cache import cache_key

MESSAGES: list[Message] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Capital of France?"},
]
GREEDY = {"temperature": 0, "max_tokens": 8}

CALL_IN_A_NEW_PROCESS = """
import json, sys
from gepa.lm import FakeModel, ModelClient, ResponseCache
backend = FakeModel(lambda messages, params: "Paris")
client = ModelClient(backend, role="task", cache=ResponseCache(sys.argv[1]))
reply = client.complete(json.loads(sys.argv[2]), json.loads(sys.argv[3]))
print(json.dumps({"text": reply.text, "cached": reply.cached, "backend_calls": len(backend.history)}))
"""


def call_in_new_process(cache_dir: Path, params: dict[str, Any]) -> Any:
    out = subprocess.run(
        [sys.executable, "-c", CALL_IN_A_NEW_PROCESS, str(cache_dir), json.dumps(MESSAGES), json.dumps(params)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_an_identical_call_is_a_hit_across_process_restarts(tmp_path: Path) -> None:
    first = call_in_new_process(tmp_path / "c", GREEDY)
    second = call_in_new_process(tmp_path / "c", GREEDY)
    assert first == {"text": "Paris", "cached": False, "backend_calls": 1}
    assert second == {"text": "Paris", "cached": True, "backend_calls": 0}


@pytest.mark.parametrize(
    "change",
    [
        {"model": "fake/other"},
        {"params": {"temperature": 0, "max_tokens": 9}},
        {"params": {"temperature": 0, "max_tokens": 8, "top_p": 0.5}},
        {"messages": [{"role": "system", "content": "Be brief!"}, MESSAGES[1]]},
        {"sample": 1},
    ],
)
def test_changing_anything_in_the_request_is_a_miss(change: dict[str, Any]) -> None:
    base = cache_key("fake/model", MESSAGES, GREEDY, 0)
    changed = cache_key(
        change.get("model", "fake/model"),
        change.get("messages", MESSAGES),
        change.get("params", GREEDY),
        change.get("sample", 0),
    )
    assert changed != base


def test_a_changed_parameter_reaches_the_model(tmp_path: Path) -> None:
    backend = FakeModel(lambda m, p: "Paris")
    client = ModelClient(backend, role="task", cache=ResponseCache(tmp_path / "c"))
    client.complete(MESSAGES, GREEDY)
    client.complete(MESSAGES, GREEDY)
    client.complete(MESSAGES, {**GREEDY, "max_tokens": 9})
    assert len(backend.history) == 2
    usage = client.ledger.total()
    assert (usage.calls, usage.cache_hits, usage.tokens_saved) == (2, 1, 5 + 1)


def test_sampling_replays_the_same_sequence(tmp_path: Path) -> None:
    answers = iter(["one", "two", "three"])
    backend = FakeModel(lambda m, p: next(answers))
    hot = {"temperature": 0.9}
    first = ModelClient(backend, role="reflection", cache=ResponseCache(tmp_path / "c"))
    assert [first.complete(MESSAGES, hot).text for _ in range(3)] == ["one", "two", "three"]
    rerun = ModelClient(FakeModel(lambda m, p: "never"), role="reflection", cache=ResponseCache(tmp_path / "c"))
    assert [rerun.complete(MESSAGES, hot).text for _ in range(3)] == ["one", "two", "three"]
    assert rerun.ledger.total().calls == 0


def test_each_sample_gets_its_own_seed_from_the_run_seed(tmp_path: Path) -> None:
    backend = FakeModel(lambda m, p: f"seed {p['seed']}")
    hot = {"temperature": 0.9}
    client = ModelClient(backend, role="reflection", cache=ResponseCache(tmp_path / "c"), seed=5)
    texts = [client.complete(MESSAGES, hot).text for _ in range(4)]
    pinned = [client.complete(MESSAGES, hot, sample=n).text for n in (0, 3, 9)]
    assert len(set(texts)) == 4  # distinct seeds, so distinct samples
    assert pinned[:2] == [texts[0], texts[3]]  # an explicit sample number is the same request as the n-th repeat
    other_run = ModelClient(FakeModel(lambda m, p: f"seed {p['seed']}"), role="reflection", seed=6)
    assert other_run.complete(MESSAGES, hot).text != texts[0]
    greedy = ModelClient(FakeModel(lambda m, p: str(p.get("seed"))), role="task", seed=5)
    assert greedy.complete(MESSAGES, GREEDY).text == "None"  # a greedy call is not sampled: no seed
    # A rerun with the same run seed sends nothing: every sample replays from the cache, in order.
    rerun = ModelClient(FakeModel(lambda m, p: "never"), role="reflection", cache=ResponseCache(tmp_path / "c"), seed=5)
    assert [rerun.complete(MESSAGES, hot).text for _ in range(4)] == texts
    assert rerun.complete(MESSAGES, hot, sample=9).text == pinned[2]
    assert rerun.ledger.total().calls == 0


def test_an_error_is_not_cached(tmp_path: Path) -> None:
    backend = FakeModel(lambda m, p: "Paris")
    backend.fail_with(ModelCallError("HTTP 400: bad request"))
    client = ModelClient(backend, role="task", cache=ResponseCache(tmp_path / "c"), ledger=UsageLedger())
    with pytest.raises(ModelCallError):
        client.complete(MESSAGES, GREEDY)
    assert client.complete(MESSAGES, GREEDY).text == "Paris"
    assert len(backend.history) == 2


WRITER = """
import sys
from gepa.lm import FakeModel, ModelClient, ResponseCache
from gepa.lm.base import Message
cache = ResponseCache(sys.argv[1])
client = ModelClient(FakeModel(lambda m, p: m[-1]["content"].upper() * 50), role="task", cache=cache)
for i in range(300):
    client.complete([{"role": "user", "content": f"shared {i}"}], {"temperature": 0})
    client.complete([{"role": "user", "content": f"{sys.argv[2]} {i}"}], {"temperature": 0})
"""


def test_two_processes_writing_at_once_corrupt_nothing(tmp_path: Path) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "c"), name]) for name in ("left", "right")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    cache = ResponseCache(tmp_path / "c")
    assert cache.stats()["entries"] == 900
    client = ModelClient(FakeModel(lambda m, p: "MISS"), role="task", cache=cache)
    for prefix in ("shared", "left", "right"):
        for i in range(300):
            content = f"{prefix} {i}"
            reply = client.complete([{"role": "user", "content": content}], {"temperature": 0})
            assert reply.text == content.upper() * 50


# -- gepa cache clear deletes the cache's own files and nothing else --------------------------------------------
def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _project(root: Path) -> dict[str, bytes]:
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print('code')\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "ab").mkdir()  # named like a diskcache value folder, but the user's
    (root / "ab" / "notes.txt").write_text("mine\n")
    return _tree(root)


def test_clearing_a_damaged_cache_in_a_project_folder_keeps_the_project(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gepa.cli import main

    folder = tmp_path / "proj"
    kept = _project(folder)
    (folder / "cache.db").write_text("not a database")
    result = CliRunner().invoke(main, ["cache", "clear", "--cache-dir", str(folder), "--yes"])
    assert result.exit_code == 0, result.output
    assert "could not be counted" in result.output
    assert _tree(folder) == kept  # src/, .git/ and ab/notes.txt are all still there, unchanged


def test_clearing_a_healthy_cache_beside_other_files_removes_only_responses(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gepa.cli import main
    from gepa.lm import Completion

    folder = tmp_path / "proj"
    kept = _project(folder)
    cache = ResponseCache(folder)
    for i in range(30):
        cache.put(f"key {i}", Completion(text="x" * 100_000))  # large values live in diskcache's own folders
    cache.close()
    result = CliRunner().invoke(main, ["cache", "clear", "--cache-dir", str(folder), "--yes"])
    assert result.exit_code == 0 and "removed 30 responses" in result.output, result.output
    assert {k: v for k, v in _tree(folder).items() if k in kept} == kept
    assert ResponseCache(folder).stats()["entries"] == 0


def test_clearing_a_folder_that_holds_no_cache_creates_and_deletes_nothing(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gepa.cli import main

    folder = tmp_path / "proj"
    kept = _project(folder)
    result = CliRunner().invoke(main, ["cache", "clear", "--cache-dir", str(folder), "--yes"])
    assert result.exit_code == 0 and "removed 0 responses" in result.output
    assert _tree(folder) == kept and not (folder / "cache.db").exists()
