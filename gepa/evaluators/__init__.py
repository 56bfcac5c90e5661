"""Evaluators: each scores one output in [0, 1] and says in words what went wrong.

``build_evaluator(spec)`` turns a task file's ``evaluator:`` entry (one, or a list with weights) into one.
"""

from gepa.evaluators.build import EVALUATORS, build_evaluator
from gepa.evaluators.match import Contains, Exact, JsonOutput, Numeric, Regex

__all__ = ["EVALUATORS", "Contains", "Exact", "JsonOutput", "Numeric", "Regex", "build_evaluator"]
