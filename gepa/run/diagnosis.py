"""Why a run improved, or did not, in numbers: the sentences the end of ``optimize`` and the report show.

A run that improves nothing has still been paid for; the person who paid should learn where the proposals
went (repeated, broken, evaluated and beaten) and what to change, not just "best = seed".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gepa.core.admission import REJECTION_WORDS
from gepa.core.intervals import PairedDifference

WASTE_REASONS = {reason: words.short for reason, words in REJECTION_WORDS.items()}


@dataclass(frozen=True, kw_only=True)
class RunFacts:
    """What the diagnosis reads: the state's counters, the minibatch scores of rejected children, the outcome."""

    counts: Mapping[str, int]
    rejected_minibatches: list[tuple[float, float]]  # (parent sum, child sum) of children that lost to their parent
    first_rejections: Mapping[str, str]  # the first detail of each kind of rejected proposal
    guard_failures: list[Mapping[str, Any]] = field(default_factory=list)  # guard_failed and guard_unpaid events
    constant_answers: Sequence[Mapping[str, Any]] = ()  # flagged: candidate, val, line
    within_noise: Sequence[tuple[str, PairedDifference]] = ()  # above the best on validation, by noise over the seed
    best_constant: list[str] = field(default_factory=list)  # ConstantAnswer lines of the best, on any split
    majority: dict[str, tuple[float, str, float]] = field(default_factory=dict)  # split -> (best, label, its rate)
    gains: Mapping[str, PairedDifference] = field(default_factory=dict)  # split -> best - seed, paired
    minibatch_size: int
    seed_val: float
    best_val: float
    iterations: int
    stop_reason: str


def rejected_minibatches(events: Iterable[Mapping[str, Any]]) -> list[tuple[float, float]]:
    """(parent, child) minibatch sums of every child that did not beat its parent, from the run's events."""
    return [
        (float(e["parent_minibatch"]), float(e["child_minibatch"]))
        for e in events
        if e.get("kind") == "candidate_rejected"
        and e.get("reason", "not better") == "not better"
        and "select_rank" not in e
    ]  # a select rule's rejection is not about the score


def first_rejections(events: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The first detail the run logged for each reason a proposal was rejected."""
    found: dict[str, str] = {}
    for event in events:
        if event.get("kind") == "proposal_rejected":
            found.setdefault(str(event.get("reason")), str(event.get("detail", "")))
    return found


def guard_failures(events: Iterable[Mapping[str, Any]], unpaid: Iterable[str] = ()) -> list[Mapping[str, Any]]:
    """The guard_failed events, and the guard_unpaid ones of candidates still unchecked (once each)."""
    waiting, found = set(unpaid), []
    for event in events:
        if event.get("kind") == "guard_failed":
            found.append(event)
        elif event.get("kind") == "guard_unpaid" and event.get("candidate") in waiting:
            waiting.discard(event["candidate"])
            found.append(event)
    return found


def guard_line(event: Mapping[str, Any], best_val: float) -> str:
    """Why a candidate with a higher validation score is not the best."""
    if event.get("kind") == "guard_unpaid":
        return (
            f"Candidate {event['candidate']} scored {float(event['score']):.3f} on validation (the best scores "
            f"{best_val:.3f}) but its guard check ({event['calls']} calls) no longer fit the budget "
            f"({event['remaining']} calls left), so it is not the best; resume the run with a larger --budget "
            "to check it."
        )
    fell = ", ".join(
        f"{name!r} {event['guard'][name]:.3f} against the seed's {event['seed_guard'][name]:.3f}"
        for name in event["sets"]
    )
    return (
        f"Candidate {event['candidate']} scored {float(event['score']):.3f} on validation (the best scores "
        f"{best_val:.3f}) but fell on the guard set {fell} (tolerance {float(event['tolerance']):.2f}), so it "
        "is not the best and is never exported."
    )


def answer_lines(facts: RunFacts) -> list[str]:
    """What the prompts answer, where it explains a score: candidates never made the best for answering one thing
    to everything, the best doing so on some split, and splits where the best is no better than the majority."""
    lines = [
        f"Candidate {found['candidate']} scored {float(found['val']):.3f} on validation (the best scores "
        f"{facts.best_val:.3f}) but {found['line']}, so it is not the best and is never exported."
        for found in facts.constant_answers
    ]
    lines += [f"The best prompt {line}." for line in facts.best_constant]
    below = [
        f"{split} ({best:.3f} against {label!r} {rate:.3f})"
        for split, (best, label, rate) in facts.majority.items()
        if best <= rate + 1e-9
    ]
    if below:
        lines.append(
            f"The best prompt scores no more than always answering the majority label on "
            f"{_listed(below)}: a constant answer would do as well."
        )
    return lines + within_noise_lines(facts) + noise_lines(facts.gains)


def within_noise_lines(facts: RunFacts) -> list[str]:
    """Why candidates that scored above the best on validation are not the best: noise could explain their gain."""
    if not facts.within_noise:
        return []
    candidate, gain = max(facts.within_noise, key=lambda found: found[1].mean)
    who = _count(len(facts.within_noise), "candidate")
    needed = gain.examples_needed()
    more = f"; about {needed} validation examples would tell a gain of that size from noise" if needed else ""
    return [
        f"{who} scored above the best's {facts.best_val:.3f} on validation, but by a gain over the seed that "
        "noise could explain "
        f"(the largest, {candidate}: {gain.line()}), so the best stays{more} (best_gain_level)."
    ]


def noise_lines(gains: Mapping[str, PairedDifference]) -> list[str]:
    """For each split whose gain over the seed the interval does not separate from 0: that it could be noise,
    and about how many examples a difference of that size needs."""
    lines = []
    for split, gain in gains.items():
        needed = gain.examples_needed()
        if gain.mean > 0 and needed is not None:
            lines.append(
                f"The gain on {split}, {gain.line()}, could be noise: a difference of this size needs "
                f"about {needed} examples to be told from it."
            )
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def wasted(counts: Mapping[str, int]) -> int:
    """Proposals that never reached a rollout."""
    return sum(counts.get(f"proposal_{reason}", 0) for reason in WASTE_REASONS)


def reflection_line(counts: Mapping[str, int]) -> str:
    """One line on what the reflection calls produced."""
    asked, calls = counts.get("proposals_asked", 0), counts.get("reflection_calls", 0)
    if not asked:
        return "Reflection: no proposals were asked for."
    parts = [
        f"{counts.get(f'proposal_{r}', 0)} {label}"
        for r, label in WASTE_REASONS.items()
        if counts.get(f"proposal_{r}", 0)
    ]
    line = (
        f"Reflection: {calls} calls made {asked} proposals; {counts.get('proposals', 0)} were evaluated, "
        f"{wasted(counts)} ({wasted(counts) / asked:.0%}) were wasted before any rollout"
    )
    line += f" ({', '.join(parts)})" if parts else ""
    if counts.get("repaired"):
        line += (
            f"; {counts['repaired']} were repaired after breaking a placeholder, copying an example or "
            "repeating the text"
        )
    return line + "."


def explain(facts: RunFacts) -> list[str]:
    """The reflection line, then, when the best is no better than the seed, each reason that applies, then what
    the prompts answer where it explains a score."""
    return _why(facts) + answer_lines(facts)


def _why(facts: RunFacts) -> list[str]:
    counts = facts.counts
    lines = [reflection_line(counts)]
    lines += [guard_line(event, facts.best_val) for event in facts.guard_failures]
    if facts.best_val > facts.seed_val:
        return lines
    asked, evaluated = counts.get("proposals_asked", 0), counts.get("proposals", 0)
    reflector = "try a stronger --reflection-model"
    if facts.seed_val >= 1.0:
        return [*lines, f"The seed already scores {facts.seed_val:.3f} on validation: there is nothing to improve."]
    if not asked:
        skipped = counts.get("skipped", 0)
        why = (
            f"all {skipped} minibatches were already perfect"
            if skipped
            else f"the run stopped first ({facts.stop_reason})"
        )
        return [*lines, f"Nothing was proposed: {why}."]
    for reason, label in WASTE_REASONS.items():
        n = counts.get(f"proposal_{reason}", 0)
        if not n or n / asked < 0.25:
            continue
        advice = {
            "unchanged": f"the reflection model repeats itself; {reflector}",
            "placeholders": f"even after a repair request, the reflection model rewrites the template's "
            f"inputs; {reflector}",
            "duplicate": "the reflection model keeps proposing texts already tried; raise its temperature",
            "leakage": "the reflection model pastes training inputs into the prompt instead of instructing",
            "reflection_error": "the reflection model's calls failed, the first with "
            f"{facts.first_rejections.get('reflection_error', '(no detail)')}",
        }[reason]
        lines.append(f"{n} of {asked} proposals {label}: {advice}.")
    lost = facts.rejected_minibatches
    if lost:
        parent = sum(p for p, _ in lost) / len(lost)
        child = sum(c for _, c in lost) / len(lost)
        lines.append(
            f"{len(lost)} of {evaluated} evaluated proposals did not beat their parent on the minibatch "
            f"(on average {child:.2f} against {parent:.2f} of {facts.minibatch_size}): the rewrites do not "
            f"help this task model; {reflector}, or give the search a larger budget."
        )
    subset = counts.get("subset_rejected", 0)
    if subset:
        lines.append(
            f"{_count(subset, 'proposal')} that beat their parent on the minibatch fell below the best on the "
            f"validation subset and were not scored on the rest (optimizer.validation: subset)."
        )
    accepted = counts.get("accepted", 0)
    if accepted and not facts.within_noise:  # else some did beat the seed, by noise (answer_lines says so)
        lines.append(
            f"{_count(accepted, 'proposal')} beat their parent on a minibatch of {facts.minibatch_size} but "
            f"none beat the seed's {facts.seed_val:.3f} on validation: a larger minibatch_size judges them "
            "better."
        )
    lines.append(
        f"The search stopped after {facts.iterations} iteration{'' if facts.iterations == 1 else 's'}: "
        f"{facts.stop_reason}."
    )
    return lines
