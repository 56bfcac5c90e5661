"""A scripted world for tests: a fake task model with two independent weaknesses and a fake reflector
that fixes one per component. Usable directly or as ``fake/tests.fakes:<function>`` model strings.

Each example text starts with ``[a]``, ``[b]`` or ``[c]`` (kinds cycle a, a, b, b, c). The task model answers
``[a]`` examples correctly only when the system prompt holds RULE_A, ``[b]`` only when the user template holds
RULE_B, and ``[c]`` only while the system prompt lacks RULE_A; otherwise it answers "unsure". So the seed wins
the c examples (0.2), RULE_A alone scores 0.4, RULE_B alone 0.6, and both 0.8: two lineages worth merging.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gepa.core.config import OptimizerConfig
from gepa.lm.base import Message
from gepa.lm.client import sample_seed
from gepa.proposer.templates import NO_INSTRUCTIONS
from gepa.proposer.worked_examples import INSTRUCTIONS_DEMOS

RULE_A = "Reply with the label only."
RULE_B = "Answer with one word:"


def task_model(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    user = messages[-1]["content"]
    match = re.search(r"\[(a|b|c)\] .*? is (positive|negative)", user)
    if not match:
        return "unsure"
    kind, label = match.groups()
    solved = {"a": RULE_A in system, "b": RULE_B in user, "c": RULE_A not in system}
    if solved[kind]:
        return label
    return "unsure"


def slow_task_model(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    time.sleep(0.03)
    return task_model(messages, params)


def request(messages: Sequence[Message]) -> str:
    """The reflection request itself: worked examples come before it, a repair request adds turns after it."""
    demos = {turn["content"] for pair in INSTRUCTIONS_DEMOS for turn in pair}
    return next(m["content"] for m in messages if m["content"] not in demos)


def _target(messages: Sequence[Message]) -> tuple[str, str]:
    """The component a reflection request is about and its current text (the request's first fenced block)."""
    prompt = request(messages)
    current = re.search(r"```\n(.*?)\n```", prompt, re.DOTALL)
    assert current, prompt
    return ("system" if "system prompt" in prompt.split("\n", 1)[0] else "user"), current.group(1)


def reflector(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """Adds RULE_A to ``system`` and RULE_B to ``user``; returns the text unchanged once the rule is there."""
    component, current = _target(messages)
    rule = RULE_A if component == "system" else RULE_B
    new = current if rule in current else rule if current == NO_INSTRUCTIONS else f"{current}\n{rule}"
    return f"Here is the improved text:\n```\n{new}\n```"


def placeholder_dropping_reflector(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """Rewrites every component without its placeholders, as weak reflectors do, even when asked to repair it."""
    return "```\nClassify the review. " + RULE_B + "\n```"


def repairable_reflector(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """Drops the placeholder at first; puts it back when a repair request names it."""
    if "cannot be used" in messages[-1]["content"] and "{{text}}" in messages[-1]["content"]:
        return "```\nReview: {{text}}\n" + RULE_B + "\n```"
    return placeholder_dropping_reflector(messages, params)


WHOLE_TEXT_TEMPLATE = 'Rewrite the prompt part "$component".\n```\n$current_text\n```\n$examples\n$placeholder_rule\n'


# The settings that turn the noise rule off, for tests of other mechanics on 10 validation examples (see write_task)
NO_NOISE_RULE: dict[str, Any] = {"best_gain_level": None}


def scripted_config(**settings: Any) -> OptimizerConfig:
    """The config the scripted world's Python runs use: one proposal per iteration, the noise rule off."""
    return OptimizerConfig(**{"proposals_per_iteration": 1, **NO_NOISE_RULE, **settings})


def make_rows(n: int, offset: int = 0) -> list[dict[str, str]]:
    rows = []
    for i in range(offset, offset + n):
        kind = "aabbc"[i % 5]
        label = ("positive", "negative")[(i // 2) % 2]
        rows.append({"text": f"[{kind}] review {i} is {label}", "label": label})
    return rows


def write_task(
    folder: Path,
    *,
    model: str = "fake/tests.fakes:task_model",
    reflection_model: str = "fake/tests.fakes:reflector",
    budget: int = 60,
    extra: str = "",
    n_train: int = 10,
    n_val: int = 10,
    n_test: int = 5,
    optimizer: str = "{proposals_per_iteration: 1, best_gain_level: null}",
) -> Path:
    """A complete task folder (task.yaml + data) on the scripted world. Its reflector is deterministic, so
    one proposal per iteration (more would repeat it). Its 10 validation examples are too few for the noise rule
    (0.2 -> 0.8 is 8 better, 2 worse: a sign test's p is 0.11), so the rule is off unless a test asks for it;
    tests/test_noise_gate.py tests the rule itself."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", make_rows(n_train)), ("val", make_rows(n_val, 100)), ("test", make_rows(n_test, 200))):
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = folder / "task.yaml"
    task.write_text(f"""name: toy
prompt:
  system: "You classify reviews."
  user: "Review: {{{{text}}}}"
data:
  train: data/train.jsonl
  val: data/val.jsonl
  test: data/test.jsonl
model: {model}
reflection_model: {reflection_model}
evaluator:
  type: exact
  expected: label
budget:
  max_metric_calls: {budget}
optimizer: {optimizer}
seed: 0
{extra}""")
    return task


def parrot_reflector(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """Returns the text it was asked to improve, unchanged: a reflector that repeats itself."""
    return "```\n" + _target(messages)[1] + "\n```"


def failing_reflector(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """A reflector whose provider rejects every request."""
    from gepa.errors import ModelCallError

    raise ModelCallError("model 'fake/reflector': BadRequestError (HTTP 400): context window exceeded")


def recording_reflector(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """``reflector``, appending every request it gets to the file ``$GEPA_TEST_REFLECTION_LOG`` names."""
    import os

    with open(os.environ["GEPA_TEST_REFLECTION_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(list(messages)) + "\n")
    return reflector(messages, params)


# -- an imbalanced world: 7 of every 10 examples are positive, so answering "positive" always scores 0.7 ---------------
MARKERS = ("ALWAYS", "LEAN", "SEPARATE")


def skewed_rows(n: int, offset: int = 0) -> list[dict[str, str]]:
    return [
        {
            "text": f"review {i} is {'positive' if i % 10 < 7 else 'negative'}",
            "label": "positive" if i % 10 < 7 else "negative",
        }
        for i in range(offset, offset + n)
    ]


def skewed_task_model(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """Behaves as the last marker in the system prompt says (per ten examples, positives 0-6, negatives 7-9):
    the seed answers 2 right (0.2); ALWAYS answers "positive" (0.7, a constant); LEAN answers "positive" on 8
    (0.9 right, balanced 0.833); SEPARATE answers "negative" on 5 (0.8 right, balanced 0.857)."""
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    match = re.search(r"review (\d+) is (positive|negative)", messages[-1]["content"])
    assert match, messages
    i, label = int(match.group(1)) % 10, match.group(2)
    found = [m for m in MARKERS if m in system]
    mode = max(found, key=system.rindex) if found else "seed"
    if mode == "ALWAYS":
        return "positive"
    if mode == "LEAN":
        return "positive" if i <= 7 else "negative"
    if mode == "SEPARATE":
        return "negative" if i in (0, 1) or i >= 7 else "positive"
    return label if i in (0, 8) else "unsure"


def marker_reflector(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """Adds the next marker of ``$GEPA_TEST_MARKERS`` (comma-separated, default all three) to the system prompt;
    past the last it repeats the text."""
    import os

    chain = os.environ.get("GEPA_TEST_MARKERS", ",".join(MARKERS)).split(",")
    _, current = _target(messages)
    done = [m for m in chain if m in current]
    if len(done) == len(chain):
        return "```\n" + current + "\n```"
    return "```\n" + current + " " + chain[len(done)] + "\n```"


def flooding_task_model(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """``task_model``'s answer followed by 2 MB of padding, as a server that streams on past its answer."""
    return task_model(messages, params) + " " + "x" * 2_000_000


ESCAPES = "\x1b]0;pwned\x07\x00\u202e"  # an OSC title sequence, a NUL and a right-to-left override


def escaping_failing_reflector(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """A reflector whose provider's error message carries terminal escapes (the diagnosis quotes it)."""
    from gepa.errors import ModelCallError

    raise ModelCallError(f"model 'fake/reflector': BadRequestError (HTTP 400): {ESCAPES} bad request")


def escaping_reflector(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """``reflector``'s improvement with terminal escapes added, so the best prompt carries them."""
    new = reflector(messages, params).split("```\n")[1].removesuffix("\n```")
    return "```\n" + (new if ESCAPES in new else f"{new} {ESCAPES}") + "\n```"


def coin_task_model(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """``task_model`` sampled: a sampled call (temperature > 0) carries the seed of its sample index, and the
    first sample of each request (index 0, under run seed 0) loses its answer, so the samples of one
    (candidate, example) pair score differently."""
    answer = task_model(messages, params)
    return "unsure" if params.get("seed") == sample_seed(0, 0) else answer
