"""The reflective proposer: what the reflector sees, and parsing its reply robustly."""

from __future__ import annotations

import pytest

from gepa.core.candidate import Candidate
from gepa.core.types import Example, Rollout
from gepa.lm import FakeModel, ModelClient
from gepa.proposer import ReflectiveProposer, extract_text
from gepa.proposer.reflective import packaged_template

CANDIDATE = Candidate(components={"system": "Be helpful.", "user": "Review: {{text}}"})
EVIDENCE = [(Example(id="train/0", fields={"text": "Great film", "label": "positive"}),
             Rollout(example_id="train/0", output="I think it is positive.", score=0.0,
                     feedback="Wrong. Expected exactly 'positive'."))]


@pytest.mark.parametrize(("reply", "text"), [
    ("```\nReview: {{text}}\nLabel:\n```", "Review: {{text}}\nLabel:"),
    ("Sure!\n```text\nNew prompt {{text}}\n```\nHope it helps", "New prompt {{text}}"),
    ("```\nshort\n```\n```\nthe longer block\n```", "the longer block"),
    ('"{{review}}\nAnswer with one word:"\nmore chatter', "{{review}}\nAnswer with one word:"),
    ("New text:\nClassify {{text}}.", "Classify {{text}}."),
    ("```\nunterminated {{text}}", "unterminated {{text}}"),
    ("Plain reply {{text}}", "Plain reply {{text}}"),
])
def test_extract_text(reply: str, text: str) -> None:
    assert extract_text(reply) == text


def test_the_reflector_sees_the_whole_candidate_and_the_placeholders_to_keep() -> None:
    model = FakeModel(lambda messages, params: "```\nReview: {{text}}\nLabel:\n```")
    proposer = ReflectiveProposer(ModelClient(model, role="reflection"))
    assert proposer.propose(CANDIDATE, "user", EVIDENCE) == "Review: {{text}}\nLabel:"
    (prompt,) = [m["content"] for m in model.history[0][0]]
    assert "[system]\nBe helpful." in prompt and "[user]\nReview: {{text}}" in prompt
    assert 'write a new version of the part named "user"' in prompt
    assert "keep these placeholders exactly as written, and add no others: {{text}}" in prompt
    assert "I think it is positive." in prompt and "Expected exactly 'positive'" in prompt


def test_turn_markers_make_chat_turns() -> None:
    proposer = ReflectiveProposer(ModelClient(FakeModel(), role="reflection"), template=packaged_template("small"))
    messages = proposer.messages(CANDIDATE, "user", EVIDENCE)
    assert [m["role"] for m in messages] == ["user", "assistant"] * 4 + ["user"]
    assert messages[-1]["content"].startswith('Prompt template: "Review: {{text}}"')
    assert 'The model answered: "I think it is positive."' in messages[-1]["content"]
