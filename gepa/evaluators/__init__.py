"""Evaluators: each scores one output in [0, 1] and says in words what went wrong.

``build_evaluator(spec)`` turns a task file's ``evaluator:`` entry (one, or a list with weights) into one;
``EVALUATORS`` maps each type a task file may name to the spec class that owns its keys and builds it.
"""

from gepa.evaluators.build import build_evaluator
from gepa.evaluators.custom import compared_fields
from gepa.evaluators.match import Contains, Exact, JsonOutput, Numeric, Regex
from gepa.evaluators.spec import EVALUATORS

__all__ = ["EVALUATORS", "Contains", "Exact", "JsonOutput", "Numeric", "Regex", "build_evaluator", "compared_fields"]
