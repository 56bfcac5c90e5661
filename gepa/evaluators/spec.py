"""One pydantic spec per evaluator type: the keys a task file may give that type, and how it becomes an evaluator.

``EvaluatorSpec`` is their union keyed by ``type``, so the task file's JSON Schema, the docs table and the errors
for an unknown type or a key the type does not take all come from these classes. A default is the evaluator
class's own (``Exact.normalize``, ``Numeric.tolerance``), so the Python API and the task file cannot disagree.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from gepa.core.types import Evaluator
from gepa.errors import EvaluatorError
from gepa.evaluators.custom import LLMJudge, PythonEvaluator, load_function
from gepa.evaluators.match import Contains, Exact, JsonOutput, Numeric, Regex
from gepa.lm.base import Completes
from gepa.strict import NAME_PATTERN, Strict, missing_key

Normalizer = Literal["lower", "strip", "strip_punctuation", "collapse_whitespace"]
JudgeFactory = Callable[[str | None], Completes]

TYPE = "The evaluator type; each type takes only the keys of its table."
EXPECTED = "The example field holding the expected answer; a field holding a list accepts any of its values."


def normalize_field(default: Sequence[str]) -> Any:
    """The ``normalize`` key, defaulting to what the evaluator class does without one."""
    return Field(default=list(default), description="Steps applied to both sides before comparing.")


@dataclass(frozen=True, kw_only=True)
class BuildContext:
    """What some evaluators need beyond their keys: where relative files are, and a client for judges."""

    base_dir: Path
    judge_client: JudgeFactory | None = None


class EvaluatorKeys(Strict):
    """The keys every evaluator type takes; each subclass adds its own and says how it is built."""

    type: str = Field(description=TYPE)
    name: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="The objective name of this evaluator's score in a list (default: its type).",
    )
    weight: float = Field(default=1.0, ge=0, description="Weight in a list of evaluators.")

    @abstractmethod
    def build(self, context: BuildContext) -> Evaluator:
        """The evaluator these keys describe; a key it cannot use (a bad pattern) is an ``EvaluatorError``."""


class ExpectedKeys(EvaluatorKeys):
    """The key of the types that compare the output with one field of the example."""

    expected: str = Field(description=EXPECTED)


class MatchKeys(ExpectedKeys):
    """The keys of the types that match normalized text: exact and contains differ only in the evaluator."""

    normalize: list[Normalizer]
    evaluator: ClassVar[type[Exact | Contains]]

    def build(self, context: BuildContext) -> Evaluator:
        return self.evaluator(expected=self.expected, normalize=tuple(self.normalize))


class ExactSpec(MatchKeys):
    """1 if the whole output, normalized, equals the expected field."""

    type: Literal["exact"] = Field(description=TYPE)
    normalize: list[Normalizer] = normalize_field(Exact.normalize)
    evaluator = Exact


class ContainsSpec(MatchKeys):
    """1 if the normalized output contains the expected field."""

    type: Literal["contains"] = Field(description=TYPE)
    normalize: list[Normalizer] = normalize_field(Contains.normalize)
    evaluator = Contains


class RegexSpec(EvaluatorKeys):
    """1 if the pattern matches the output (case-insensitive)."""

    type: Literal["regex"] = Field(description=TYPE)
    pattern: str = Field(description="The pattern; {field} inserts an example field's value, escaped.")

    def build(self, context: BuildContext) -> Evaluator:
        return Regex(pattern=self.pattern)


class JsonSpec(EvaluatorKeys):
    """The fraction of checks passed: the output parses as JSON, satisfies the schema, matches each field."""

    type: Literal["json"] = Field(description=TYPE)
    json_schema: dict[str, Any] | None = Field(
        default=None, alias="schema", description="A JSON Schema the output must satisfy."
    )
    fields: dict[str, str] = Field(
        default_factory=dict, description="Output key -> the example field whose value it must hold."
    )
    normalize: list[Normalizer] = normalize_field(JsonOutput.normalize)

    def build(self, context: BuildContext) -> Evaluator:
        return JsonOutput(schema=self.json_schema, fields=dict(self.fields), normalize=tuple(self.normalize))


class NumericSpec(ExpectedKeys):
    """1 if the last number in the output is the expected one, within the tolerance."""

    type: Literal["numeric"] = Field(description=TYPE)
    tolerance: float = Field(
        default=Numeric.tolerance,
        ge=0,
        allow_inf_nan=False,
        description="The largest accepted absolute difference; 0 accepts only the exact number.",
    )

    def build(self, context: BuildContext) -> Evaluator:
        return Numeric(expected=self.expected, tolerance=self.tolerance)


class PythonSpec(EvaluatorKeys):
    """Your function(fields, output) returns a score, (score, feedback) or a dict (score, feedback, scores,
    expected)."""

    type: Literal["python"] = Field(description=TYPE)
    function: str = Field(description="module:function, or file.py:function relative to the task file.")

    def build(self, context: BuildContext) -> Evaluator:
        return PythonEvaluator(function=load_function(self.function, context.base_dir))


class JudgeSpec(EvaluatorKeys):
    """A model grades the output 0-10 against the rubric and gives a reason, which becomes the feedback."""

    type: Literal["judge"] = Field(description=TYPE)
    rubric: str = Field(description="What the judge model grades against.")
    model: str | None = Field(default=None, description="The judge model (default: the task model).")
    expected: str | None = Field(
        default=None, description="An example field holding a reference answer the judge is shown."
    )
    input_fields: list[str] = Field(
        default=[], description="The example fields the judge is shown (default: all but expected)."
    )

    def build(self, context: BuildContext) -> Evaluator:
        if context.judge_client is None:
            raise EvaluatorError("judge evaluator: no model available for the judge")
        return LLMJudge(
            rubric=self.rubric,
            client=context.judge_client(self.model),
            expected=self.expected,
            input_fields=tuple(self.input_fields),
        )


EvaluatorSpec = Annotated[
    ExactSpec | ContainsSpec | RegexSpec | JsonSpec | NumericSpec | PythonSpec | JudgeSpec, Field(discriminator="type")
]
# type name -> its spec, in the union's order: the name is written once, in the spec's ``type`` Literal
EVALUATORS: dict[str, type[EvaluatorKeys]] = {
    get_args(spec.model_fields["type"].annotation)[0]: spec for spec in get_args(get_args(EvaluatorSpec)[0])
}


def keys_of(kind: str) -> list[str]:
    """The keys a task file may give a ``kind`` evaluator, as it spells them."""
    return sorted(info.alias or name for name, info in EVALUATORS[kind].model_fields.items())


def refused_key(where: str, kind: str, key: str) -> str:
    """Why ``key`` is an error on a ``kind`` evaluator: a typo, or a key of other types (said so, since it looks
    right and would otherwise be read as a typo)."""
    owners = [repr(other) for other in EVALUATORS if key in keys_of(other)]
    if not owners:
        problem = f"unknown key {key!r}"
    elif len(owners) == 1:
        problem = f"{key!r} is a key of type {owners[0]}, not of {kind!r}"
    else:
        problem = f"{key!r} is a key of types {', '.join(owners[:-1])} and {owners[-1]}, not of {kind!r}"
    return f"{where} (type {kind!r}): {problem}; valid keys: {', '.join(keys_of(kind))}"


def unknown_type(where: str, kind: object) -> str:
    return f"{where}.type: unknown evaluator type {kind!r}; valid types: {', '.join(EVALUATORS)}"


def spec_problem(error: ErrorDetails, where: str, kind: str | None, key: str | None) -> str | None:
    """The message for an error inside an evaluator entry at ``where`` that names its type: an unknown or missing
    type, a key the type does not take, a key it needs. None for any other error (a value of the wrong kind)."""
    if error["type"] == "union_tag_invalid":
        return unknown_type(where, error.get("ctx", {}).get("tag"))
    if error["type"] == "union_tag_not_found":
        return f"{where}: {missing_key('type')}; valid types: {', '.join(EVALUATORS)}"
    if kind is None or key is None:
        return None
    if error["type"] == "extra_forbidden":
        return refused_key(where, kind, key)
    if error["type"] == "missing":
        return f"{where} (type {kind!r}): {missing_key(key)}"
    return None


@cache
def _entry() -> TypeAdapter[EvaluatorKeys]:
    return TypeAdapter(EvaluatorSpec)


def parse_spec(entry: EvaluatorKeys | Mapping[str, Any], where: str = "evaluator") -> EvaluatorKeys:
    """A spec from an evaluator entry given as a task file gives it (a dict) or as a spec already. Its keys are
    checked as a task file's (a problem is an ``EvaluatorError`` worded the same way); its values convert as
    Python callers expect (a tuple for a list)."""
    if isinstance(entry, EvaluatorKeys):
        return entry
    try:
        return _entry().validate_python(entry, strict=False)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        kind, key = (loc[0], loc[1]) if len(loc) >= 2 and loc[0] in EVALUATORS else (None, None)
        field = ".".join([where, *loc[1:]]) if kind else where
        raise EvaluatorError(spec_problem(error, where, kind, key) or f"{field}: {error['msg']}") from None


def as_recorded_today(value: Any) -> Any:
    """A run's recorded ``evaluator`` (one entry or a list) in today's form, so an unchanged one compares equal on
    resume. A run recorded before each type owned its keys holds every type's key (None meaning the default) and
    scored ``tolerance: 0`` with the default tolerance. What is no evaluator entry is returned as it is."""
    if isinstance(value, list):
        return [as_recorded_today(entry) for entry in value]
    if not isinstance(value, Mapping):
        return value
    given = {key: v for key, v in value.items() if v is not None}
    kind = given.get("type")
    if kind == "numeric" and set(value) - set(keys_of(kind)) and given.get("tolerance") == 0:
        given["tolerance"] = Numeric.tolerance
    try:
        return parse_spec(given).model_dump(mode="json", by_alias=True)
    except EvaluatorError:
        return value
