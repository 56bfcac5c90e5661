"""Deterministic checks of an output against the example's expected field: exact, contains, regex,
numeric and JSON. Each gives feedback that quotes what was expected and what came out."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import regex

from gepa.core.text import clip
from gepa.core.types import EvalResult, Example
from gepa.errors import EvaluatorError

NORMALIZERS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "strip": str.strip,
    "strip_punctuation": lambda s: s.translate(str.maketrans("", "", string.punctuation)),
    "collapse_whitespace": lambda s: " ".join(s.split()),
}


def normalize(text: str, steps: Sequence[str]) -> str:
    for step in steps:
        text = NORMALIZERS[step](text)
    return text


def expected_values(example: Example, key: str) -> list[str]:
    """The expected answer(s): a field may hold one value or a list of acceptable ones."""
    value = example.fields[key]
    values = value if isinstance(value, list) else [value]
    return [v if isinstance(v, str) else json.dumps(v) for v in values]


def accepted(values: Sequence[str]) -> str:
    """``'three'``, or ``'three' (or '3')`` when several answers are accepted."""
    rest = ", ".join(repr(v) for v in values[1:])
    return repr(values[0]) + (f" (or {rest})" if rest else "")


@dataclass(frozen=True, kw_only=True)
class Exact:
    """The whole output, normalized, must equal the expected field. The feedback says which of three things went
    wrong: the right answer spelt otherwise ('Positive' for 'positive'), another short answer (the form was right,
    the answer not), or an output that is more than the answer."""

    expected: str
    normalize: tuple[str, ...] = ("strip",)

    def compared_fields(self) -> set[str]:
        """The example fields the output is compared against (never shown to the task model as inputs)."""
        return {self.expected}

    def __call__(self, example: Example, output: str) -> EvalResult:
        wanted = expected_values(example, self.expected)
        got = normalize(output, self.normalize)
        if any(got == normalize(w, self.normalize) for w in wanted):
            return EvalResult(score=1.0, feedback=f"Correct: the output is {wanted[0]!r}.", expected=wanted[0])
        loose = ("lower", "strip_punctuation", "collapse_whitespace")
        if any(normalize(output, loose) == normalize(w, loose) for w in wanted):
            return EvalResult(
                score=0.0,
                expected=wanted[0],
                feedback=(
                    f"Right answer, wrong spelling. Expected exactly {accepted(wanted)} but the output was "
                    f"{clip(output)!r}: write the answer exactly as expected."
                ),
            )
        if got and len(got) <= 40 and len(got.split()) <= 3:  # an answer in form, but not the expected one
            return EvalResult(
                score=0.0,
                expected=wanted[0],
                feedback=(f"Wrong answer. Expected {accepted(wanted)} but the output was {clip(output)!r}."),
            )
        return EvalResult(
            score=0.0,
            feedback=(
                f"Wrong. Expected exactly {accepted(wanted)} but the output was {clip(output)!r}. "
                "The whole output must be the answer and nothing else."
            ),
            expected=wanted[0],
        )


@dataclass(frozen=True, kw_only=True)
class Contains:
    expected: str
    normalize: tuple[str, ...] = ("lower",)

    def compared_fields(self) -> set[str]:
        """The example fields the output is compared against (never shown to the task model as inputs)."""
        return {self.expected}

    def __call__(self, example: Example, output: str) -> EvalResult:
        wanted = expected_values(example, self.expected)
        got = normalize(output, self.normalize)
        if any(normalize(w, self.normalize) in got for w in wanted):
            return EvalResult(score=1.0, feedback=f"Correct: the output contains {wanted[0]!r}.", expected=wanted[0])
        return EvalResult(
            score=0.0,
            expected=wanted[0],
            feedback=f"Wrong. The output should contain {wanted[0]!r} but was {clip(output)!r}.",
        )


REGEX_SECONDS = 5.0  # a pattern that needs longer on one output backtracks without end ('^(a+)+$' on 'aaa...b')


@dataclass(frozen=True, kw_only=True)
class Regex:
    """Matched by the ``regex`` library, which can give up on a catastrophic pattern (``re`` cannot, and holds
    the interpreter while it tries) and lets other threads run meanwhile."""

    pattern: str
    flags: int = re.IGNORECASE

    def __post_init__(self) -> None:
        try:
            regex.compile(self.pattern, self.flags)
        except regex.error as exc:
            raise EvaluatorError(f"regex evaluator: invalid pattern {self.pattern!r}: {exc}") from exc

    def __call__(self, example: Example, output: str) -> EvalResult:
        pattern = self.pattern
        for name, value in example.fields.items():  # {field} in a pattern refers to the example
            pattern = pattern.replace("{" + name + "}", regex.escape(str(value)))
        try:
            found = regex.search(pattern, output, self.flags, concurrent=True, timeout=REGEX_SECONDS)
        except TimeoutError:
            raise ValueError(
                f"the pattern {pattern!r} took longer than {REGEX_SECONDS:g}s on this output (it "
                "backtracks without end: rewrite it without nested repetition)"
            ) from None
        if found:
            return EvalResult(score=1.0, feedback="Correct: the output matches the required pattern.")
        return EvalResult(
            score=0.0, feedback=f"Wrong. The output {clip(output)!r} does not match the pattern {pattern!r}."
        )


_NUMBER = re.compile(r"-?\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?|-?\.\d+")


@dataclass(frozen=True, kw_only=True)
class Numeric:
    """The last number in the output must equal the expected one within ``tolerance`` (absolute)."""

    expected: str
    tolerance: float = 1e-6

    def compared_fields(self) -> set[str]:
        """The example fields the output is compared against (never shown to the task model as inputs)."""
        return {self.expected}

    def __call__(self, example: Example, output: str) -> EvalResult:
        expected = str(example.fields[self.expected]).strip()  # as the data spells it: 1234567, not 1.23457e+06
        want = float(expected.replace(",", ""))
        numbers = _NUMBER.findall(output)
        if not numbers:
            return EvalResult(
                score=0.0,
                expected=expected,
                feedback=f"Wrong. Expected the number {want:g} but the output has no number: {clip(output)!r}.",
            )
        got = float(numbers[-1].replace(",", ""))
        if abs(got - want) <= self.tolerance:
            return EvalResult(score=1.0, feedback=f"Correct: {got:g}.", expected=expected)
        return EvalResult(
            score=0.0,
            expected=expected,
            feedback=(
                f"Wrong. The final number was {got:g} but the answer is {want:g}. End the answer with the final number."
            ),
        )


def extract_json(output: str) -> Any:
    """Parse JSON from the whole output, a fenced block, or the first {...} / [...] span."""
    candidates = [output.strip()]
    fenced = re.search(r"```(?:json)?\s*(.*?)```", output, re.DOTALL)
    if fenced:
        candidates.append(fenced.group(1).strip())
    span = re.search(r"[\[{].*[\]}]", output, re.DOTALL)
    if span:
        candidates.append(span.group(0))
    for text in candidates:
        try:
            return json.loads(text)
        except ValueError:
            continue
    raise ValueError("no JSON value found")


@dataclass(frozen=True, kw_only=True)
class JsonOutput:
    """The output must parse as JSON, satisfy ``schema`` (optional), and match ``fields`` against the example.

    Score: the fraction of checks passed (parse, schema, each field), so partial answers guide the reflector.
    ``fields`` maps a JSON key of the output to the example field holding its expected value.
    """

    schema: Mapping[str, Any] | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    normalize: tuple[str, ...] = ("strip", "lower")

    def __post_init__(self) -> None:
        if self.schema is not None:
            import jsonschema

            try:
                jsonschema.Draft202012Validator.check_schema(self.schema)
            except jsonschema.SchemaError as exc:
                where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
                raise EvaluatorError(
                    f"json evaluator: the schema is not a valid JSON Schema at {where}: {exc.message}"
                ) from None

    def compared_fields(self) -> set[str]:
        """The example fields the output's keys are compared against."""
        return set(self.fields.values())

    def __call__(self, example: Example, output: str) -> EvalResult:
        try:
            value = extract_json(output)
        except ValueError:
            return EvalResult(
                score=0.0, feedback=f"The output is not valid JSON: {clip(output)!r}. Output only a JSON object."
            )
        checks, problems = 1, []
        if self.schema is not None:
            import jsonschema

            checks += 1
            errors = sorted(jsonschema.Draft202012Validator(self.schema).iter_errors(value), key=str)
            if errors:
                problems.append("schema: " + "; ".join(e.message for e in errors[:3]))
        for key, source in self.fields.items():
            checks += 1
            got = value.get(key) if isinstance(value, dict) else None
            want = example.fields[source]
            if got is None or normalize(str(got), self.normalize) != normalize(str(want), self.normalize):
                problems.append(f"field {key!r} should be {want!r} but was {got!r}")
        score = (checks - len(problems)) / checks
        if not problems:
            return EvalResult(score=1.0, feedback="Correct: valid JSON with every expected field.")
        return EvalResult(score=score, feedback="Valid JSON, but " + "; ".join(problems) + ".")
