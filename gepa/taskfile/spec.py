"""Task files: YAML validated strictly by pydantic, with errors that name the file, line and key.

    spec = load_task("tasks/sentiment/task.yaml")

Unknown keys are errors; wrong values list the valid choices; paths are relative to the task file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast, get_type_hints

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    PositiveInt,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import CoreSchema, core_schema
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here on Python 3.11

from gepa.core.candidate import name_problem
from gepa.core.config import COST_OBJECTIVES, Objective, OptimizerConfig, Section, Selection, section_fields
from gepa.errors import TaskSpecError
from gepa.evaluators.build import part_names
from gepa.evaluators.spec import EvaluatorKeys, EvaluatorSpec, spec_problem
from gepa.lm.base import REFLECTION_PARAMS, TASK_PARAMS
from gepa.lm.local_model import EMBEDDED_MODEL
from gepa.strict import NAME_PATTERN, Strict, missing_key
from gepa.taskfile.yaml_input import read_yaml

SCHEMA_URL = "https://json-schema.org/draft/2020-12/schema"
MAX_WEIGHT = 1e6  # larger weights overflow the weighted sum to inf, which ranks every prompt alike


def _component_name(value: str) -> str:
    if problem := name_problem(value, "component name"):
        raise ValueError(problem)
    return value


ComponentName = Annotated[str, AfterValidator(_component_name)]  # a file name in best/ and prompts/: checked here


@dataclass(frozen=True)
class Number:
    """``Annotated`` metadata: a number (an integer if ``integer``) in [low, high], kept as written (``0`` stays
    ``0``, so cache keys do not move); a bool, a string or NaN is refused rather than coerced."""

    low: float | None = None
    high: float | None = None
    integer: bool = False

    def check(self, value: Any) -> Any:
        kind = "an integer" if self.integer else "a number"
        if isinstance(value, bool) or not isinstance(value, int if self.integer else (int, float)):
            raise ValueError(f"must be {kind}")
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if self.low is not None and value < self.low:
            raise ValueError(f"must be at least {self.low:g}")
        if self.high is not None and value > self.high:
            raise ValueError(f"must be at most {self.high:g}")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self.check)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        bounds = {k: v for k, v in (("minimum", self.low), ("maximum", self.high)) if v is not None}
        return {"type": "integer" if self.integer else "number", **bounds}


def _stop(value: Any) -> str | list[str]:
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return value
    raise ValueError("must be a string or a list of strings")


class SamplingParams(TypedDict, total=False):
    """A model's sampling parameters: the common ones are type-checked here, so a wrong value is refused before
    any call; any other key goes to the provider as written."""

    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    temperature: Annotated[float, Number(0), Field(description="Sampling temperature; 0 answers greedily.")]
    top_p: Annotated[float, Number(0, 1), Field(description="Nucleus sampling: the probability mass kept.")]
    min_p: Annotated[float, Number(0, 1), Field(description="Drop tokens below this share of the likeliest one.")]
    top_k: Annotated[int, Number(0, integer=True), Field(description="Sample among this many likeliest tokens.")]
    max_tokens: Annotated[int, Number(1, integer=True), Field(description="Longest answer, in tokens.")]
    seed: Annotated[int, Number(integer=True), Field(description="The provider's sampling seed.")]
    presence_penalty: Annotated[float, Number(-2, 2), Field(description="Penalty on tokens already present.")]
    frequency_penalty: Annotated[float, Number(-2, 2), Field(description="Penalty growing with a token's count.")]
    repeat_penalty: Annotated[float, Number(0), Field(description="Penalty on repeats (local models).")]
    stop: Annotated[
        str | list[str],
        PlainValidator(_stop),
        Field(description="Text that ends the answer."),
        WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
    ]


class ComponentSource(Strict):
    """A component taken from a file (relative to the task file) or from the prompt registry (``name@alias``)."""

    file: str | None = Field(default=None, description="A text file, relative to the task file.")
    registry: str | None = Field(default=None, description="A registered prompt: name, name@alias or name@version.")

    @model_validator(mode="after")
    def _one_source(self) -> ComponentSource:
        if (self.file is None) == (self.registry is None):
            raise ValueError("give exactly one of 'file' or 'registry'")
        return self


class SplitSpec(Strict):
    """Fractions of one data file for each split, drawn after a seeded shuffle."""

    train: float = Field(gt=0, le=1, description="Fraction of the examples for training (minibatches).")
    val: float = Field(gt=0, le=1, description="Fraction for validation (the Pareto front and the best).")
    test: float = Field(default=0.0, ge=0, le=1, description="Fraction held out for the final test score.")
    seed: int = Field(default=0, description="Seed of the shuffle before splitting.")

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitSpec:
        if self.train + self.val + self.test > 1.0 + 1e-9:
            raise ValueError("train + val + test must not exceed 1")
        return self


class DataSpec(Strict):
    """Where the examples are: train/val(/test) files, or one file and split fractions. .jsonl, .json or .csv."""

    train: str | None = Field(default=None, description="Training examples, relative to the task file.")
    val: str | None = Field(default=None, description="Validation examples.")
    test: str | None = Field(default=None, description="Test examples (optional).")
    file: str | None = Field(default=None, description="One file of examples to split by 'split'.")
    split: SplitSpec | None = Field(default=None, description="How to split 'file'.")
    limit: dict[Literal["train", "val", "test"], PositiveInt] | None = Field(
        default=None, description="Use at most this many examples of a split, e.g. {train: 20}."
    )
    guard: str | dict[str, str] | None = Field(
        default=None,
        description="Guard sets: examples from elsewhere (another style, the last release) a new "
        "prompt must not get worse on; one file, or named files {ood: file, ...}. Same "
        "field names as the other splits.",
    )

    @field_validator("guard")
    @classmethod
    def _guard_names(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        if isinstance(value, dict):
            if not value:
                raise ValueError("give at least one guard set, or leave 'guard' out")
            for name in value:
                if not re.fullmatch(NAME_PATTERN, name):
                    raise ValueError(f"guard set name {name!r}: use letters, digits, '.', '_' and '-'")
        return value

    def guard_files(self) -> dict[str, str]:
        """Guard set name -> file (a single file is the set ``guard``)."""
        if self.guard is None:
            return {}
        return {"guard": self.guard} if isinstance(self.guard, str) else dict(self.guard)

    @model_validator(mode="after")
    def _one_layout(self) -> DataSpec:
        if self.file is not None:
            if self.split is None or any((self.train, self.val, self.test)):
                raise ValueError("with 'file', give 'split' (fractions) and no train/val/test paths")
        elif self.train is None or self.val is None:
            raise ValueError("give 'train' and 'val' paths (and optionally 'test'), or 'file' with 'split'")
        return self


def _section_model(name: str, section: Section) -> type[BaseModel]:
    """A task-file section as a strict pydantic model built from ``OptimizerConfig``'s fields (one definition)."""
    hints = get_type_hints(OptimizerConfig)
    specs: dict[str, Any] = {
        f.name: (hints[f.name], Field(default=f.default, description=f.metadata["help"], **f.metadata["bounds"]))
        for f in section_fields(section)
    }
    return create_model(name, __base__=Strict, **specs)


if TYPE_CHECKING:  # the type checker sees plain models; pydantic validates the generated ones
    BudgetSpec = BaseModel
    OptimizerSpec = BaseModel
else:
    BudgetSpec = _section_model("BudgetSpec", "budget")
    OptimizerSpec = _section_model("OptimizerSpec", "optimizer")


class ObjectiveSpec(Strict):
    """An objective and whether higher (max) or lower (min) is better."""

    name: str = Field(
        pattern=NAME_PATTERN,
        description="score, balanced (mean per-label recall), an evaluator's "
        "name, or tokens, cost_usd, latency_s, prompt_chars.",
    )
    direction: Literal["max", "min"] | None = Field(
        default=None, description="max or min (default: min for tokens, cost_usd, latency_s, prompt_chars; else max)."
    )

    def resolved(self) -> Objective:
        return Objective(name=self.name, direction=self.direction) if self.direction else Objective.named(self.name)


class SelectSpec(Strict):
    """How the run picks its best prompt: a weighted sum, or one objective maximised within limits on others."""

    weights: dict[str, Annotated[float, Number(-MAX_WEIGHT, MAX_WEIGHT)]] | None = Field(
        default=None,
        description="objective -> weight; min objectives count negatively, e.g. {score: 1, tokens: 0.001}.",
    )
    maximize: str | None = Field(default=None, description="The objective to maximise within 'limits'.")
    limits: dict[str, Annotated[float, Number()]] | None = Field(
        default=None, description="objective -> bound: at most it for a min objective, at least it for a max one."
    )

    @field_validator("weights")
    @classmethod
    def _some_weight(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and not any(value.values()):  # every prompt would rank alike: the seed stays best
            raise ValueError("give at least one weight that is not 0")
        return value

    @field_validator("limits")
    @classmethod
    def _reachable(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        """A limit no prompt can meet leaves every candidate ranked as over it: the run could only keep the seed."""
        for name, bound in (value or {}).items():
            if name in COST_OBJECTIVES and bound <= 0:
                raise ValueError(f"no prompt can use at most {bound:g} {name}; give a bound above 0")
            if name not in COST_OBJECTIVES and bound > 1:
                raise ValueError(f"{name} at least {bound:g} cannot be met: a score is at most 1")
        return value

    @model_validator(mode="after")
    def _one_rule(self) -> SelectSpec:
        if (self.weights is None) == (self.maximize is None):
            raise ValueError("give either 'weights' or 'maximize' (with 'limits')")
        return self


class RateLimitSpec(Strict):
    """A limit shared by every model of the run."""

    requests_per_minute: PositiveInt | None = Field(default=None, description="Calls per minute, all models.")
    tokens_per_minute: PositiveInt | None = Field(default=None, description="Tokens per minute, all models.")


class PriceSpec(Strict):
    """A model's price, for models litellm's price map lacks."""

    input_per_mtok: float = Field(ge=0, description="USD per million input tokens.")
    output_per_mtok: float = Field(ge=0, description="USD per million output tokens.")


class PipelineSpec(Strict):
    """A custom pipeline (``gepa.System``) in the user's code, whose prompt components the run optimises."""

    python: str = Field(
        description="'file.py:Name' (relative to the task file) or 'module:Name': a class or "
        "function called with the task model's client (``client.complete(messages)."
        "text``) that returns an object with ``run(candidate, example)``; its optional "
        "``provides`` lists the fields it fills for later steps' placeholders."
    )


class MlflowTrackingSpec(Strict):
    """Where the run is tracked in MLflow."""

    uri: str | None = Field(
        default=None,
        description="MLflow tracking URI, e.g. sqlite:///mlflow.db (default: "
        "$MLFLOW_TRACKING_URI, else MLflow's own; MLflow 3 refuses a "
        "file store such as ./mlruns).",
    )
    experiment: str = Field(default="gepa", description="The MLflow experiment the run is logged under.")


class TrackingSpec(Strict):
    """Experiment tracking of the optimisation run itself (needs the mlflow extra)."""

    mlflow: MlflowTrackingSpec | None = Field(
        default=None,
        description="Log parameters, a metric history per "
        "iteration, final figures and the run's "
        "files to an MLflow run.",
    )


class ExportSpec(Strict):
    """Register the best prompt in the prompt registry when the run ends."""

    name: str = Field(pattern=NAME_PATTERN, max_length=100, description="The prompt's name in the registry.")
    alias: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        max_length=100,
        description="An alias to point at the new version (e.g. production).",
    )
    promote_if_better: bool = Field(
        default=False,
        description="Move the alias only if the new version wins on "
        "the test split: the paired 95% interval of the "
        "difference lies above 0.",
    )
    promote_on_any_gain: bool = Field(
        default=False, description="With promote_if_better: a higher test mean is enough (a gain noise may explain)."
    )


def _prompt_shape(value: Any) -> str:
    """Which shape a ``prompt`` value has, so an error is reported against that shape only (a mapping of
    components is not also checked as a ``{file: ...}`` source)."""
    if isinstance(value, dict) and value and set(value) <= {"file", "registry"}:
        return "Source"
    return "Components" if isinstance(value, dict) else "Text"


SeedPrompt = Annotated[
    Annotated[str, Tag("Text")]
    | Annotated[ComponentSource, Tag("Source")]
    | Annotated[dict[ComponentName, str | ComponentSource], Tag("Components")],
    Discriminator(_prompt_shape),
]


class TaskSpec(Strict):
    """A gepa task file: the prompt to improve, the data, the models, the evaluator and the budget."""

    name: str = Field(
        pattern=NAME_PATTERN, max_length=100, description="Task name; run directories are named after it."
    )
    description: str = Field(default="", description="Free text.")
    prompt: SeedPrompt = Field(
        description="The seed candidate: a string (one system component), a mapping of components (text, "
        "{file: ...} or {registry: ...}) or {registry: name@alias}. {{field}} is filled per example."
    )
    optimize: list[str] | None = Field(default=None, description="Components the optimizer may change (default: all).")
    data: DataSpec = Field(description="The examples.")
    model: str = Field(
        default=EMBEDDED_MODEL,
        description="The task model: any litellm model string, local/smollm2 or local/<file.gguf>.",
    )
    model_params: SamplingParams = Field(
        default_factory=lambda: cast(SamplingParams, dict(TASK_PARAMS)),
        description="The task model's sampling parameters.",
    )
    api_base: str | None = Field(default=None, description="Server URL of a self-hosted task model.")
    api_key_env: str | None = Field(default=None, description="Environment variable holding the task model's key.")
    reflection_model: str | None = Field(
        default=None,
        description="The model that rewrites the prompt (default: the task model; the embedded "
        "model when the task model is local).",
    )
    reflection_params: SamplingParams = Field(
        default_factory=lambda: cast(SamplingParams, dict(REFLECTION_PARAMS)),
        description="The reflection model's sampling parameters.",
    )
    reflection_api_base: str | None = Field(default=None, description="Server URL of a self-hosted reflector.")
    reflection_api_key_env: str | None = Field(
        default=None, description="Environment variable holding the reflector's key."
    )
    reflection_template: str | None = Field(
        default=None,
        description="'scaffolded' (worked examples and an answer cue, for small reflectors), 'general' "
        "(the task's facts, rules and strategy), 'default' (scaffolded), 'small' (few-shot "
        "turns, for tiny reflectors) or a template file.",
    )
    system: PipelineSpec | None = Field(
        default=None, description="A custom pipeline to run each example through (default: one task-model call)."
    )
    evaluator: EvaluatorSpec | list[EvaluatorSpec] = Field(
        description="How an output is scored in [0, 1], with feedback for the reflector: one evaluator, or a list "
        "with weights."
    )
    objectives: list[str | ObjectiveSpec] | None = Field(
        default=None,
        description="Objectives the search keeps apart on the Pareto front, e.g. [score, "
        "{name: tokens, direction: min}]; default: the score alone.",
    )
    select: SelectSpec | None = Field(
        default=None, description="How the best prompt is chosen among the objectives (default: the best score)."
    )
    budget: BudgetSpec = Field(default_factory=BudgetSpec, description="When the run stops.")
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec, description="How the search proceeds.")
    prices: dict[str, PriceSpec] = Field(default_factory=dict, description="Prices of models litellm does not know.")
    rate_limit: RateLimitSpec | None = Field(default=None, description="A rate limit shared by every model.")
    seed: int = Field(
        default=0, description="Drives every random choice; the same seed and cached answers give the same run."
    )
    export: ExportSpec | None = Field(default=None, description="Register the best prompt when the run ends.")
    tracking: TrackingSpec | None = Field(default=None, description="Track the run in MLflow.")

    @field_validator("evaluator")
    @classmethod
    def _some_evaluator(cls, value: EvaluatorKeys | list[EvaluatorKeys]) -> EvaluatorKeys | list[EvaluatorKeys]:
        if value == []:  # every output would score 0
            raise ValueError("give at least one evaluator")
        return value

    @field_validator("objectives", "select")
    @classmethod
    def _measured(cls, value: Any, info: ValidationInfo) -> Any:
        """An objective nothing measures would fail the run after the seed was paid for; a python evaluator may
        return scores under any names, so with one the run checks instead."""
        evaluator = info.data.get("evaluator")
        specs = evaluator if isinstance(evaluator, list) else [evaluator] if evaluator else []
        if value is None or not specs or any(s.type == "python" for s in specs):
            return value
        measured = {
            "score",
            "balanced",
            *COST_OBJECTIVES,
            *(part_names(specs) if len(specs) > 1 else [s.name for s in specs if s.name]),
        }
        if isinstance(value, SelectSpec):
            names = sorted(Selection(weights=value.weights, maximize=value.maximize, limits=value.limits).names())
        else:
            names = [o if isinstance(o, str) else o.name for o in value]
        for name in names:
            if name not in measured:
                raise ValueError(
                    f"objective {name!r} is not measured by this task; measured: {', '.join(sorted(measured))}"
                )
        return value

    def objective_list(self) -> tuple[Objective, ...]:
        """The objectives, each with its direction resolved."""
        return tuple((ObjectiveSpec(name=o) if isinstance(o, str) else o).resolved() for o in self.objectives or ())

    def selection(self) -> Selection | None:
        if self.select is None:
            return None
        return Selection(weights=self.select.weights, maximize=self.select.maximize, limits=self.select.limits)

    def evaluator_specs(self) -> list[EvaluatorKeys]:
        """The evaluators, one or a list, as a list."""
        return [*self.evaluator] if isinstance(self.evaluator, list) else [self.evaluator]

    def evaluator_dicts(self) -> list[dict[str, Any]]:
        """The evaluators as their task-file mappings, every default filled in."""
        return [s.model_dump(by_alias=True, exclude_none=True) for s in self.evaluator_specs()]


def task_json_schema() -> dict[str, Any]:
    """The task file's JSON Schema, every field described (for editor completion and validation)."""
    schema = TaskSpec.model_json_schema(by_alias=True)
    return {"$schema": SCHEMA_URL, **schema, "title": "gepa task file"}


class Task:
    """A validated task file with the directory its relative paths start from."""

    def __init__(self, spec: TaskSpec, path: Path) -> None:
        self.spec, self.path, self.base_dir = spec, path, path.parent

    def resolve(self, relative: str) -> Path:
        return (self.base_dir / relative).resolve()


def read_utf8(path: Path) -> str:
    """The text of a file a task points at (a BOM dropped); bytes that are not UTF-8 are an error naming the file,
    the line and the byte, since a traceback would name neither."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TaskSpecError(
            f"not UTF-8 text (byte {raw[exc.start]:#04x}); save the file as UTF-8", path=str(path), line=line
        ) from None


def load_task(path: str | Path) -> Task:
    """Read and validate a task file; every problem becomes a ``TaskSpecError`` naming where it is."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TaskSpecError("task file not found", path=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskSpecError(f"cannot read the task file: {exc}", path=str(path)) from exc
    root, data = read_yaml(text, str(path))
    if not isinstance(data, dict):
        raise TaskSpecError("a task file must be a YAML mapping of keys (name, prompt, data, ...)", path=str(path))
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, path, root) from None
    return Task(spec, path)


def _explain(exc: ValidationError, path: Path, root: yaml.Node | None) -> TaskSpecError:
    """The most useful pydantic error as a message with a line number and the valid choices."""
    errors = exc.errors()
    # An unknown key is the likeliest typo: report it first. A union (one evaluator or a list) fails in every
    # branch; the deepest error that is not a mere "wrong shape for this branch" is the one the user made.
    shape = ("list_type", "string_type", "dict_type", "model_type", "model_attributes_type")
    errors.sort(key=lambda e: (e["type"] != "extra_forbidden", e["type"] in shape, -len(e["loc"])))
    error = errors[0]
    loc, entry, kind = _keys(error["loc"])
    if error["type"] == "union_tag_invalid":
        loc = [*loc, "type"]
    field = ".".join(str(p) for p in loc) or "(top level)"
    node = _node_at(root, loc)
    line = node.start_mark.line + 1 if node is not None else None
    key = str(loc[entry]) if entry is not None and len(loc) > entry else None
    in_evaluator = None if entry is None else spec_problem(error, ".".join(map(str, loc[:entry])), kind, key)
    if in_evaluator is not None:
        message = in_evaluator
    elif error["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        valid = ", ".join(sorted(f.alias or n for n, f in parent.model_fields.items())) if parent else ""
        message = f"unknown key {loc[-1]!r}" + (f" in {'.'.join(map(str, loc[:-1]))}" if len(loc) > 1 else "")
        message += f"; valid keys: {valid}" if valid else ""
    elif error["type"] == "missing":
        message = missing_key(field)
    else:
        message = f"{field}: {error['msg'].removeprefix('Value error, ')} (got {error.get('input')!r})"
    return TaskSpecError(message, path=str(path), line=line, field=field)


def _keys(loc: tuple[int | str, ...]) -> tuple[list[int | str], int | None, str | None]:
    """An error location's keys, without what pydantic adds that is not a key: the names of union branches and
    the tag of a tagged union (the evaluator's type). Also how many keys lead to the evaluator entry the error is
    in (None outside one) and its type (None when the type itself is the problem)."""
    keys: list[int | str] = []
    entry: int | None = None
    kind: str | None = None
    for part in loc:
        if isinstance(part, str) and "tagged-union[" in part:
            entry = len(keys)  # the entry itself, or a list of entries: a list index may come next
        elif _is_branch_tag(part):
            continue
        elif entry is not None and kind is None and isinstance(part, str):
            kind, entry = part, len(keys)
        else:
            keys.append(part)
    return keys, len(keys) if entry is not None and kind is None else entry, kind


def _is_branch_tag(part: Any) -> bool:
    """pydantic names union branches in error locations ('ComponentSource', 'list[...]', 'str'); they are not keys."""
    return isinstance(part, str) and (part[:1].isupper() or "[" in part or part in ("str", "int", "float", "bool"))


def _node_at(root: yaml.Node | None, loc: list[Any]) -> yaml.Node | None:
    node, found = root, root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return found
            found, node = match[0], match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = found = node.value[part]
        else:
            return found
    return found


def _model_at(loc: list[Any]) -> type[BaseModel] | None:
    """The pydantic model that owns the mapping at ``loc`` (for listing its valid keys)."""
    model: type[BaseModel] = TaskSpec
    for part in loc:
        if isinstance(part, int) or part not in model.model_fields:
            continue
        annotation = model.model_fields[part].annotation
        nested = [
            a
            for a in getattr(annotation, "__args__", (annotation,))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        nested += [
            b
            for a in getattr(annotation, "__args__", ())
            for b in getattr(a, "__args__", ())
            if isinstance(b, type) and issubclass(b, BaseModel)
        ]
        if not nested:
            return None
        model = nested[0]
    return model
