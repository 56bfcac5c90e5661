"""The reflector side: turn a parent and its minibatch rollouts into a rewritten component."""

from gepa.proposer.reflective import DEFAULT_TEMPLATE, ReflectiveProposer, extract_text

__all__ = ["DEFAULT_TEMPLATE", "ReflectiveProposer", "extract_text"]
