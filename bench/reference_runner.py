"""Runs the reference GEPA (PyPI ``gepa`` 0.1.4) on one benchmark spec, inside its own virtual environment.

Called by bench/compare_reference.py as ``<ref-venv>/bin/python bench/reference_runner.py SPEC.json``; prints one
JSON line. It imports the *reference* ``gepa`` and nothing of ours. The adapter is the fairest we could write:
it renders every component the way gepa-evolve does (``system`` as the system message, the rest, with their
``{{field}}`` placeholders filled, as the user message), so the reference may optimise the user template too,
and its evaluator gives the same score and feedback text as our ``exact`` evaluator.
"""

from __future__ import annotations

import json
import re
import string
import sys
import time
from typing import Any

from gepa.core.adapter import EvaluationBatch
from llama_cpp import Llama

import gepa  # the reference implementation

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
NORMALIZERS = {
    "lower": str.lower,
    "strip": str.strip,
    "strip_punctuation": lambda s: s.translate(str.maketrans("", "", string.punctuation)),
    "collapse_whitespace": lambda s: " ".join(s.split()),
}


class Models:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.task = Llama(model_path=spec["task_model_path"], n_ctx=4096, verbose=False, seed=0)
        self.reflector = (
            self.task
            if spec["reflection_model_path"] == spec["task_model_path"]
            else Llama(model_path=spec["reflection_model_path"], n_ctx=4096, verbose=False, seed=0)
        )
        self.calls = {"task": 0, "reflection": 0}
        self.tokens = 0
        self.run_seed = int(spec["seed"])

    def chat(self, role: str, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
        llama = self.task if role == "task" else self.reflector
        options = {k: v for k, v in params.items() if k in ("temperature", "max_tokens", "top_p", "seed")}
        # A sampled call gets a seed of its own, as gepa-evolve's calls do: with one fixed seed a repeated
        # request would repeat its answer, which would handicap the reference.
        sampled = float(options.get("temperature", 1.0)) > 0
        options.setdefault("seed", self.run_seed * 100_003 + self.calls[role] if sampled else 0)
        response = llama.create_chat_completion(messages=messages, **options)
        self.calls[role] += 1
        self.tokens += int(response["usage"]["prompt_tokens"]) + int(response["usage"]["completion_tokens"])
        return response["choices"][0]["message"]["content"] or ""


def render(candidate: dict[str, str], fields: dict[str, Any]) -> list[dict[str, str]]:
    def fill(text: str) -> str:
        return PLACEHOLDER.sub(lambda m: str(fields.get(m.group(1), m.group(0))), text)

    messages = [{"role": "system", "content": fill(candidate["system"])}] if "system" in candidate else []
    user = [fill(text) for name, text in candidate.items() if name != "system"]
    messages.append({"role": "user", "content": "\n\n".join(user)})
    return messages


def exact(spec: dict[str, Any], fields: dict[str, Any], output: str) -> tuple[float, str]:
    def norm(text: str) -> str:
        for step in spec.get("normalize") or ["strip"]:
            text = NORMALIZERS[step](text)
        return text

    value = fields[spec["expected"]]
    accepted = [str(v) for v in value] if isinstance(value, list) else [str(value)]  # any of them, as ours
    wanted = accepted[0]
    if any(norm(output) == norm(w) for w in accepted):
        return 1.0, f"Correct: the output is {wanted!r}."
    shown = output if len(output) <= 200 else output[:200] + "…"
    alternatives = ", ".join(repr(v) for v in accepted[1:])
    expected = repr(wanted) + (f" (or {alternatives})" if alternatives else "")
    loose = NORMALIZERS["lower"], NORMALIZERS["strip_punctuation"], NORMALIZERS["collapse_whitespace"]

    def squeezed(text: str) -> str:
        for step in loose:
            text = step(text)
        return text

    if any(squeezed(output) == squeezed(w) for w in accepted):
        return 0.0, (
            f"Right answer, wrong spelling. Expected exactly {expected} but the output was {shown!r}: "
            "write the answer exactly as expected."
        )
    got = norm(output)
    if got and len(got) <= 40 and len(got.split()) <= 3:
        return 0.0, f"Wrong answer. Expected {expected} but the output was {shown!r}."
    return 0.0, (
        f"Wrong. Expected exactly {expected} but the output was {shown!r}. "
        "The whole output must be the answer and nothing else."
    )


class FairAdapter:
    propose_new_texts = None  # use the reference's own reflection prompt and proposer

    def __init__(self, spec: dict[str, Any], models: Models) -> None:
        self.spec, self.models = spec, models

    def evaluate(
        self, batch: list[dict[str, Any]], candidate: dict[str, str], capture_traces: bool = False
    ) -> EvaluationBatch:
        outputs, scores, traces = [], [], []
        for fields in batch:
            output = self.models.chat("task", render(candidate, fields), self.spec["model_params"]).strip()
            score, feedback = exact(self.spec["evaluator"], fields, output)
            outputs.append(output)
            scores.append(score)
            traces.append({"fields": fields, "output": output, "feedback": feedback})
        return EvaluationBatch(outputs=outputs, scores=scores, trajectories=traces if capture_traces else None)

    def make_reflective_dataset(
        self, candidate: dict[str, str], eval_batch: EvaluationBatch, components_to_update: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        expected = self.spec["evaluator"]["expected"]
        records = [
            {
                "Inputs": {k: v for k, v in t["fields"].items() if k not in (expected, "id")},
                "Generated Outputs": t["output"],
                "Feedback": t["feedback"],
            }
            for t in eval_batch.trajectories or []
        ]
        return {component: records for component in components_to_update}


def main() -> None:
    spec = json.loads(open(sys.argv[1], encoding="utf-8").read())
    models = Models(spec)
    adapter = FairAdapter(spec, models)

    def reflection_lm(prompt: str | list[dict[str, Any]]) -> str:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        return models.chat("reflection", messages, spec["reflection_params"])

    started = time.perf_counter()
    result = gepa.optimize(
        seed_candidate=spec["seed_candidate"],
        trainset=spec["train"],
        valset=spec["val"],
        adapter=adapter,
        reflection_lm=reflection_lm,
        max_metric_calls=spec["budget"],
        reflection_minibatch_size=spec["minibatch_size"],
        use_merge=True,
        seed=spec["seed"],
        display_progress_bar=False,
        cache_evaluation=True,
    )
    best = result.best_candidate

    def scored(candidate: dict[str, str], split: str) -> tuple[list[float], list[str]]:
        if not spec[split]:
            return [], []
        batch = adapter.evaluate(spec[split], candidate)
        return list(batch.scores), list(batch.outputs)

    seed_scores, seed_outputs = scored(spec["seed_candidate"], "test")
    best_scores, best_outputs = (seed_scores, seed_outputs) if best == spec["seed_candidate"] else scored(best, "test")
    wall_s = time.perf_counter() - started  # the search and its test scores, as gepa-evolve's wall time counts
    calls, tokens = dict(models.calls), models.tokens
    _, best_val_outputs = scored(best, "val")  # what the best answers on validation, for the answer counts

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    print(
        json.dumps(
            {
                "seed_test": mean(seed_scores),
                "best_test": mean(best_scores),
                "seed_test_scores": seed_scores,
                "best_test_scores": best_scores,
                "outputs": {
                    "seed": {"test": seed_outputs},
                    "best": {"test": best_outputs, "validation": best_val_outputs},
                },
                "best_val": max(result.val_aggregate_scores),
                "candidates": len(result.candidates),
                "metric_calls": result.total_metric_calls,
                "model_calls": calls["task"] + calls["reflection"],
                "calls": calls,
                "tokens": tokens,
                "wall_s": wall_s,
                "best": best,
            }
        )
    )


if __name__ == "__main__":
    main()
