"""The reflective proposer: what the reflector sees, how its reply becomes a component, parsing, repair."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
import yaml

from gepa.core.candidate import Candidate
from gepa.core.evaluation import score_output
from gepa.core.types import Example, Rollout, SystemOutput
from gepa.evaluators import build_evaluator
from gepa.lm import FakeModel, ModelClient
from gepa.proposer import ReflectiveProposer, extract_text
from gepa.proposer.templates import POLICIES, packaged_template, split_template

CANDIDATE = Candidate(components={"system": "Be helpful.", "user": "Review: {{text}}\nWhat do you think?"})
EVIDENCE = [
    (
        Example(id="train/0", fields={"text": "Great film", "label": "positive", "source": "imdb"}),
        Rollout(
            example_id="train/0",
            output="I think it is positive.",
            score=0.0,
            feedback="Wrong. Expected exactly 'positive'.",
        ),
    )
]


def proposer_replying(reply: str, **kwargs: object) -> tuple[ReflectiveProposer, FakeModel]:
    model = FakeModel(lambda messages, params: reply)
    return ReflectiveProposer(ModelClient(model, role="reflection"), **kwargs), model  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reply", "text"),
    [
        ("```\nReview: {{text}}\nLabel:\n```", "Review: {{text}}\nLabel:"),
        ("Sure!\n```text\nNew prompt {{text}}\n```\nHope it helps", "New prompt {{text}}"),
        ("```\nshort\n```\n```\nthe longer block\n```", "the longer block"),
        ('"{{review}}\nAnswer with one word:"\nmore chatter', "{{review}}\nAnswer with one word:"),
        ("New text:\nClassify {{text}}.", "Classify {{text}}."),
        ("```\nunterminated {{text}}", "unterminated {{text}}"),
        ("Plain reply {{text}}", "Plain reply {{text}}"),
        ("```\n```\n\nAnswer in one word.", "Answer in one word."),  # an empty block, then the text unfenced
        ("```\n```python\nAnswer in one word.", "Answer in one word."),
        ('"Classify. Reply as:\n```json\n{"label": ...}\n```"', 'Classify. Reply as:\n```json\n{"label": ...}\n```'),
        # unfenced talk around the text: a lead-in, rules framing it, a closing remark about it
        (
            "Certainly! Here's an improved system prompt based on the feedback provided:\n\n---\n\n**Task**: decide.\n"
            "Answer true or false.\n\n---\n\nThis prompt is clear and concise.",
            "**Task**: decide.\nAnswer true or false.",
        ),
        (
            "Here is the new prompt:\nDecide, then answer yes or no.\n\nThis revised prompt names both answers.",
            "Decide, then answer yes or no.",
        ),
        ("Sure, here is the revised prompt:\n---\nAnswer a or b.", "Answer a or b."),
        ("Step 1: read.\n\n---\n\nStep 2: answer yes or no.", "Step 1: read.\n\n---\n\nStep 2: answer yes or no."),
        ("```\nCertainly! Here is the new text:\nAnswer true or false.\n```", "Answer true or false."),
        # ... but a prompt's own wording that merely looks like talk stays
        ("```\nHere is the question:\n{{question}}\nAnswer:\n```", "Here is the question:\n{{question}}\nAnswer:"),
        (
            "Below is a customer message. Classify its intent as one of:\nbilling, refund, other",
            "Below is a customer message. Classify its intent as one of:\nbilling, refund, other",
        ),
        (
            "Classify the review.\n\nThis text may be sarcastic; judge the overall tone.",
            "Classify the review.\n\nThis text may be sarcastic; judge the overall tone.",
        ),
        ("Classify the review.\n\nThis text is: {{text}}", "Classify the review.\n\nThis text is: {{text}}"),
        ('{"answer": "true or false"}', '{"answer": "true or false"}'),
        ('```json\n{"new_system_prompt": "Decide.\\nAnswer a or b."}\n```', "Decide.\nAnswer a or b."),
    ],
)
def test_extract_text(reply: str, text: str) -> None:
    assert extract_text(reply) == text


def test_a_template_gets_new_instructions_after_its_inputs() -> None:
    proposer, model = proposer_replying("```\nAnswer with the label only.\n```")
    assert proposer.propose(CANDIDATE, "user", EVIDENCE) == "Review: {{text}}\n\nAnswer with the label only."
    *demos, request = model.history[0][0]
    prompt = request["content"]
    # Worked examples come first as earlier turns, then the request about this task.
    assert [m["role"] for m in demos] == ["user", "assistant"] * 3 and request["role"] == "user"
    assert all("{{" not in m["content"] for m in demos)
    # The reflector sees the instructions, never a placeholder it could drop or answer.
    assert "```\nWhat do you think?\n```" in prompt and "{{" not in prompt
    # The inputs the prompt uses, the answer and the feedback; the expected answer only through the feedback.
    assert "Input: Great film" in prompt and "Assistant's answer: I think it is positive." in prompt
    assert "Feedback: Wrong. Expected exactly 'positive'." in prompt
    assert "label" not in prompt and "imdb" not in prompt


@pytest.mark.parametrize("component", ["user", "system"])
def test_the_request_names_the_answers_the_evaluator_expected_once_each(tmp_path: Path, component: str) -> None:
    exact = build_evaluator({"type": "exact", "expected": "label"}, base_dir=tmp_path)
    examples = [
        Example(id=f"train/{n}", fields={"text": f"choice {n}", "label": label})
        for n, label in enumerate(["b", "a", "b"])
    ]
    rollouts = [score_output(exact, CANDIDATE, example, SystemOutput(text="I think so")) for example in examples]
    assert [Rollout.from_dict(r.to_dict()).expected for r in rollouts] == ["b", "a", "b"]  # a resumed run keeps them
    proposer, model = proposer_replying("```\nAnswer in one word.\n```")
    proposer.propose(CANDIDATE, component, list(zip(examples, rollouts, strict=True)))
    assert "The feedback expects these answers: 'b', 'a'." in model.history[0][0][-1]["content"]

    regex = build_evaluator({"type": "regex", "pattern": "^x$"}, base_dir=tmp_path)  # no single expected answer
    rollouts = [score_output(regex, CANDIDATE, example, SystemOutput(text="y")) for example in examples]
    proposer.propose(CANDIDATE, component, list(zip(examples, rollouts, strict=True)))
    assert "expects these answers" not in model.history[1][0][-1]["content"]


def test_the_sample_rotates_the_worked_examples_so_the_last_one_varies() -> None:
    proposer, _ = proposer_replying("")
    last_demo = {sample: proposer.messages(CANDIDATE, "user", EVIDENCE, sample)[-2]["content"] for sample in range(6)}
    assert len(set(last_demo.values())) == 3
    assert last_demo[0] == last_demo[3] and last_demo[1] == last_demo[4]
    # A component without placeholders is rewritten whole, without the instruction examples.
    assert len(proposer.messages(CANDIDATE, "system", EVIDENCE, 1)) == 1


def test_the_same_instructions_are_the_same_text_whatever_the_layout() -> None:
    proposer, _ = proposer_replying("```\nWhat do you   think?\n```")
    assert proposer.propose(CANDIDATE, "user", EVIDENCE) == CANDIDATE["user"]


def test_a_reply_that_writes_the_placeholders_is_a_whole_template() -> None:
    proposer, _ = proposer_replying("```\n{{text}}\nPositive or negative?\n```")
    assert proposer.propose(CANDIDATE, "user", EVIDENCE) == "{{text}}\nPositive or negative?"


def test_a_prompt_without_placeholders_is_rewritten_whole_and_sees_the_listed_fields() -> None:
    candidate = Candidate(components={"system": "Be helpful."})
    proposer, model = proposer_replying("```\nReply with one word.\n```", input_fields=["text", "source"])
    assert proposer.propose(candidate, "system", EVIDENCE) == "Reply with one word."
    (prompt,) = [m["content"] for m in model.history[0][0]]
    assert prompt.startswith("I want to improve the system prompt") and "```\nBe helpful.\n```" in prompt
    assert "Input text: Great film\nInput source: imdb" in prompt and "label" not in prompt


def test_a_custom_template_rewrites_the_whole_component_with_the_placeholder_rule() -> None:
    template = "Part $component:\n$current_text\n$placeholder_rule\nAll parts:\n$candidate\n$examples"
    proposer, model = proposer_replying("```\nReview: {{text}}\nLabel:\n```", template=template)
    assert proposer.propose(CANDIDATE, "user", EVIDENCE) == "Review: {{text}}\nLabel:"
    (prompt,) = [m["content"] for m in model.history[0][0]]
    assert "keep these placeholders exactly as written, and add no others: {{text}}" in prompt
    assert "[system]\nBe helpful." in prompt and "Input: Great film" in prompt


def test_a_repair_request_quotes_the_broken_text_and_the_problem() -> None:
    template = "Rewrite $component:\n```\n$current_text\n```"
    proposer, model = proposer_replying("```\nReview: {{text}}\nLabel:\n```", template=template)
    fixed = proposer.repair(CANDIDATE, "user", EVIDENCE, "Label it.", "dropped {{text}}", sample=3)
    assert fixed == "Review: {{text}}\nLabel:"
    messages, _params = model.history[0]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == "```\nLabel it.\n```"
    assert "dropped {{text}}" in messages[2]["content"] and "{{text}}" in messages[2]["content"]


def test_split_template_keeps_lines_with_placeholders_as_inputs() -> None:
    assert split_template("Classify.\nQ: {{q}}\nContext: {{c}}\nBe brief.") == (
        ["Q: {{q}}", "Context: {{c}}"],
        "Classify.\nBe brief.",
    )


def test_turn_markers_make_chat_turns() -> None:
    proposer, _ = proposer_replying("", template=packaged_template("small"))
    messages = proposer.messages(CANDIDATE, "user", EVIDENCE)
    assert [m["role"] for m in messages] == ["user", "assistant"] * 4 + ["user"]
    assert messages[-1]["content"].startswith('Prompt template: "Review: {{text}}\nWhat do you think?"')
    assert 'The model answered: "I think it is positive."' in messages[-1]["content"]


@pytest.mark.parametrize("name", ["default", "scaffolded", "general", "small"])
def test_no_packaged_template_carries_an_example_task_answer(name: str) -> None:
    """Demonstrations that hold a task's answers would make a demo, not an optimizer."""
    from gepa.proposer import templates, worked_examples

    demos = "\n".join(turn["content"] for pair in worked_examples.INSTRUCTIONS_DEMOS for turn in pair)
    requests = "".join(policy.instructions for policy in templates.POLICIES.values())
    text = (packaged_template(name) + requests + demos).lower()
    for answer in (
        "yes or no",
        "yes",
        "positive",
        "negative",
        "neutral",
        "ambivalent",
        "add_to_playlist",
        "intent",
        "how many",
        "number",
        "one-word answer",
        "letter only",
        "true or false",
    ):
        assert answer not in text, answer
    words = set(re.findall(r"[\w']+", text))
    for task, labels in example_task_label_sets().items():
        assert not {label for label in labels if len(label) > 1} & words, task
        for first, second in itertools.permutations(labels, 2):
            assert f"{first} or {second}" not in text, (task, first, second)


def example_task_label_sets() -> dict[str, set[str]]:
    """Each example task's answer options: the expected values of a task with at most ten distinct ones."""
    label_sets = {}
    for task_file in (Path(__file__).parents[1] / "tasks").glob("*/task.yaml"):
        spec = yaml.safe_load(task_file.read_text(encoding="utf-8"))
        field = spec["evaluator"].get("expected")
        if not field:
            continue
        rows = [json.loads(line) for line in (task_file.parent / spec["data"]["file"]).read_text().splitlines()]
        labels = {str(row[field]).lower() for row in rows if isinstance(row.get(field), str)}
        if 0 < len(labels) <= 10:
            label_sets[task_file.parent.name] = labels
    assert {"polarity", "navigate", "hyperbaton", "sentiment", "intent"} <= set(label_sets)
    return label_sets


def test_an_empty_reply_proposes_nothing_and_counts_as_unchanged() -> None:
    seed = Candidate(components={"system": "You classify reviews."})
    proposer, _ = proposer_replying("```\n```")
    assert proposer.propose(seed, "system", EVIDENCE) == seed["system"]


def test_a_repair_in_instructions_mode_quotes_the_instructions_not_the_whole_template() -> None:
    proposer, model = proposer_replying("```\nAnswer in one word.\n```")
    repeated = "Review: {{text}}\nWhat do you think?"  # the current template, as gepa rebuilt it from the reply
    proposer.repair(CANDIDATE, "user", EVIDENCE, repeated, "repeats the current text unchanged", sample=1)
    ((messages, _),) = model.history
    assert messages[-2] == {"role": "assistant", "content": "```\nWhat do you think?\n```"}
    assert "{{text}}" not in messages[-2]["content"] and "repeats the current text unchanged" in messages[-1]["content"]


def test_the_general_policy_asks_for_the_tasks_facts_without_worked_examples(tmp_path: Path) -> None:
    exact = build_evaluator({"type": "exact", "expected": "label"}, base_dir=tmp_path)
    examples = [
        Example(id=f"train/{n}", fields={"text": f"choice {n}", "label": label}) for n, label in enumerate(["b", "a"])
    ]
    evidence = [(e, score_output(exact, CANDIDATE, e, SystemOutput(text="I think so"))) for e in examples]
    proposer, model = proposer_replying("```\nWeigh both options, then answer.\n```", policy="general")
    assert proposer.propose(CANDIDATE, "user", evidence) == "Review: {{text}}\n\nWeigh both options, then answer."
    (request,) = model.history[0][0]  # one turn: no worked examples before it
    assert "the facts about this task, the rules behind the right answers and a strategy" in request["content"]
    assert "```\nWhat do you think?\n```" in request["content"] and "{{" not in request["content"]
    assert "expects these answers" not in request["content"]  # scaffolding for small reflectors only
    proposer.propose(CANDIDATE, "system", evidence)
    assert "write them down in general terms" in model.history[1][0][-1]["content"]


def test_the_request_says_when_the_assistant_gave_one_answer_to_several_inputs() -> None:
    outputs = ["No.", "no", "NO", "Yes"]
    evidence = [
        (
            Example(id=f"train/{n}", fields={"text": f"case {n}"}),
            Rollout(example_id=f"train/{n}", output=o, score=0.0, feedback="Wrong.", expected="yes"),
        )
        for n, o in enumerate(outputs)
    ]
    proposer, model = proposer_replying("```\nThink first.\n```")
    proposer.propose(CANDIDATE, "user", evidence)
    assert "The assistant answered 'no' on 3 of 4 examples." in model.history[0][0][-1]["content"]
    proposer.propose(CANDIDATE, "user", evidence[:3])
    assert "The assistant answered 'no' on 3 of 3 examples, whatever the input." in model.history[1][0][-1]["content"]
    proposer.propose(CANDIDATE, "user", EVIDENCE)  # one example: nothing to say
    assert "The assistant answered" not in model.history[2][0][-1]["content"]


@pytest.mark.parametrize(
    ("reflector", "template", "policy"),
    [
        ("fake/tests.fakes:reflector", "", "scaffolded"),  # a model on this machine: small, so the scaffolding
        ("openai/gpt-4.1", "", "general"),  # a served model: the general request
        ("openai/gpt-4.1", "reflection_template: scaffolded\n", "scaffolded"),  # the task file decides
        ("fake/tests.fakes:reflector", "reflection_template: general\n", "general"),
    ],
)
def test_the_reflection_policy_follows_the_reflector_unless_the_task_file_names_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reflector: str, template: str, policy: str
) -> None:
    from gepa.run import runner
    from tests.fakes import write_task

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    task = write_task(tmp_path / "toy", reflection_model=reflector, extra=template)
    proposer = runner.prepare(task).proposer
    assert isinstance(proposer, ReflectiveProposer) and proposer.policy is POLICIES[policy]
