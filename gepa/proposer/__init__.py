"""The reflector side: turn a parent and its minibatch rollouts into a rewritten component."""

from gepa.proposer.reflective import ReflectiveProposer
from gepa.proposer.replies import extract_text

__all__ = ["ReflectiveProposer", "extract_text"]
