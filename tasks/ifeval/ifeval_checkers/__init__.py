"""IFEval instruction checkers, vendored from lm-eval 0.4.13 (see ../LICENSE-CHECKERS.md)."""
