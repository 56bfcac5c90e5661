"""The seed candidate of a task file (inline text, files, or the prompt registry) and the checks that tie it
to the data: every placeholder and every expected field must exist in the examples."""

from __future__ import annotations

from gepa.core.candidate import Candidate, placeholders, unclosed_placeholders
from gepa.errors import RegistryError, TaskSpecError
from gepa.registry import PromptRegistry
from gepa.taskfile.data import Splits
from gepa.taskfile.spec import ComponentSource, Task, read_utf8


def resolve_seed(task: Task, registry: PromptRegistry) -> Candidate:
    """The seed candidate from inline text, files, or the prompt registry."""
    prompt = task.spec.prompt

    def from_source(source: ComponentSource, component: str | None) -> dict[str, str]:
        if source.file is not None:
            path = task.resolve(source.file)
            if not path.is_file():
                raise TaskSpecError(
                    f"prompt file not found: {str(path)!r}",
                    path=str(task.path),
                    field=f"prompt.{component}" if component else "prompt",
                )
            return {component or "system": read_utf8(path)}
        assert source.registry is not None
        try:
            version = registry.get(source.registry)
        except RegistryError as exc:
            raise TaskSpecError(f"prompt registry: {exc}", path=str(task.path), field="prompt") from exc
        if component is None:
            return dict(version.components)
        if component not in version.components:
            raise TaskSpecError(
                f"registry prompt {version.ref} has no component {component!r}; it has {list(version.components)!r}",
                path=str(task.path),
                field=f"prompt.{component}",
            )
        return {component: version.components[component]}

    if isinstance(prompt, str):
        return Candidate(components={"system": prompt})
    if isinstance(prompt, ComponentSource):
        return Candidate(components=from_source(prompt, None))
    components: dict[str, str] = {}
    for name, value in prompt.items():
        components.update({name: value} if isinstance(value, str) else from_source(value, name))
    if not components:
        raise TaskSpecError("the prompt has no components", path=str(task.path), field="prompt")
    return Candidate(components=components)


def check_fields(
    task: Task,
    seed: Candidate,
    splits: Splits,
    answers: set[str],
    provided: set[str] | None = None,
    *,
    source: str | None = None,
) -> list[str]:
    """Every placeholder and every field the evaluator compares against (``answers``,
    ``gepa.evaluators.compared_fields``) must exist in the data (or be ``provided`` by the pipeline, such as a
    second step's ``{{draft}}``), and every placeholder be closed; errors name ``source`` (where the candidate came
    from: a candidate file, a registry prompt), else the task file. Returns warnings: a placeholder showing the task
    model the very field its answer is compared against."""
    where = source or str(task.path)
    fields = splits.fields()
    provided = provided or set()
    shown = ", ".join(sorted(fields)) + (f"; the pipeline fills {', '.join(sorted(provided))}" if provided else "")
    warnings = []
    for name, text in seed.components.items():
        if unclosed := unclosed_placeholders(text):
            raise TaskSpecError(
                f"unclosed placeholder {{{{{unclosed[0]} in prompt component {name!r}: the field "
                f"would never reach the model; write it as {{{{{unclosed[0]}}}}}",
                path=where,
                field=f"prompt.{name}",
            )
        for placeholder in placeholders(text):
            if placeholder not in fields | provided:
                raise TaskSpecError(
                    f"placeholder {{{{{placeholder}}}}} in prompt component {name!r} has no matching "
                    f"field in the data (fields: {shown})",
                    path=where,
                    field=f"prompt.{name}",
                )
            if placeholder in answers:
                warnings.append(
                    f"prompt component {name!r} shows {{{{{placeholder}}}}}, the field the evaluator "
                    "compares against: the task model sees the answer"
                )
    missing = sorted(answers - fields)
    if missing:
        raise TaskSpecError(
            f"evaluator expects the field {missing[0]!r}, which the data lacks (fields: {shown})",
            path=where,
            field="evaluator.expected",
        )
    needed = answers | {p for text in seed.components.values() for p in placeholders(text) if p not in provided}
    for name, examples in splits.guard.items():
        for example in examples:
            lacking = sorted(needed - set(example.fields))
            if lacking:
                raise TaskSpecError(
                    f"guard set {name!r}: example {example.id} has no field {lacking[0]!r}; a guard "
                    f"set uses the same field names as the other splits ({', '.join(sorted(needed))})",
                    path=splits.sources[f"guard:{name}"],
                    field="data.guard",
                )
    return warnings
