"""The report's two charts as inline SVG: validation score against metric calls spent, and (for a run with more
than one objective) the primary objective against a cost. Both have ticks, grid lines and named axes, so a point
can be read off without hovering it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from gepa.core.state import RunState
from gepa.run.report.markup import esc
from gepa.run.summary import RunSummary

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 16, 48  # room for tick labels and the axis names


@dataclass(frozen=True, kw_only=True)
class Axis:
    """A linear map from data values in [low, high] to pixels in [start, end], with round-numbered ticks."""

    low: float
    high: float
    start: float
    end: float

    def at(self, value: float) -> float:
        span = (self.high - self.low) or 1.0
        return self.start + (value - self.low) / span * (self.end - self.start)

    def ticks(self, count: int = 5) -> list[float]:
        """About ``count`` ticks at multiples of 1, 2 or 5 times a power of ten inside [low, high]."""
        span = self.high - self.low
        if span <= 0:
            return [self.low]
        raw = span / count
        power = 10 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
        first = math.ceil(self.low / step - 1e-9) * step
        return [round(first + k * step, 10) for k in range(int((self.high - first) / step + 1e-9) + 1)]


def axes_for(x_low: float, x_high: float, y_low: float, y_high: float) -> tuple[Axis, Axis]:
    """The chart area's two axes (y grows upwards)."""
    return (
        Axis(low=x_low, high=x_high, start=LEFT, end=WIDTH - RIGHT),
        Axis(low=y_low, high=y_high, start=HEIGHT - BOTTOM, end=TOP),
    )


def _tick_label(value: float) -> str:
    return f"{value:g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def frame(x: Axis, y: Axis, x_name: str, y_name: str) -> list[str]:
    """Axis lines, a tick with its value and a faint grid line at every tick, and each axis's name."""
    marks = []
    for value in y.ticks():
        pos = y.at(value)
        marks.append(
            f'<line class=grid x1="{x.start}" y1="{pos:.1f}" x2="{x.end}" y2="{pos:.1f}"/>'
            f'<text class=tick x="{x.start - 6}" y="{pos + 4:.1f}" text-anchor="end">'
            f"{_tick_label(value)}</text>"
        )
    for value in x.ticks():
        pos = x.at(value)
        marks.append(
            f'<line class=grid x1="{pos:.1f}" y1="{y.start}" x2="{pos:.1f}" y2="{y.end}"/>'
            f'<text class=tick x="{pos:.1f}" y="{y.start + 16}" text-anchor="middle">'
            f"{_tick_label(value)}</text>"
        )
    marks.append(
        f'<line class=axis x1="{x.start}" y1="{y.start}" x2="{x.end}" y2="{y.start}"/>'
        f'<line class=axis x1="{x.start}" y1="{y.start}" x2="{x.start}" y2="{y.end}"/>'
        f'<text class=axis-name x="{(x.start + x.end) / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{esc(x_name)}</text>"
        f'<text class=axis-name transform="translate(14 {(y.start + y.end) / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{esc(y_name)}</text>'
    )
    return marks


def svg(label: str, marks: list[str]) -> str:
    return (
        f'<svg class=chart viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{esc(label)}">{"".join(marks)}</svg>'
    )


def score_chart(state: RunState) -> str:
    """Each candidate as a dot at (metric calls spent when it was found, its validation mean), the best so far
    as a step line to the calls spent in all; the chosen best is ringed."""
    means = state.mean_scores()
    if not means:
        return "<p class=muted>no candidate scored yet</p>"
    calls = [int(f.get("metric_calls", 0)) for f in state.found_at]
    x, y = axes_for(0, max(*calls, state.metric_calls, 1), min(0.0, *means), max(1.0, *means))
    marks = frame(x, y, "metric calls spent (rollouts scored)", "validation score (mean)")
    order = sorted(range(len(means)), key=lambda i: (calls[i], i))
    best_so_far, points = means[order[0]], [f"{x.at(calls[order[0]]):.1f},{y.at(means[order[0]]):.1f}"]
    for i in order[1:]:
        if means[i] > best_so_far:
            points.append(f"{x.at(calls[i]):.1f},{y.at(best_so_far):.1f}")  # flat until the better one is found
            best_so_far = means[i]
            points.append(f"{x.at(calls[i]):.1f},{y.at(best_so_far):.1f}")
    points.append(f"{x.at(state.metric_calls):.1f},{y.at(best_so_far):.1f}")
    marks.append(f'<polyline class=best-line fill="none" points="{" ".join(points)}"/>')
    best = state.best_index()
    for i in order:
        candidate = state.candidates[i]
        cx, cy = x.at(calls[i]), y.at(means[i])
        title = esc(f"{candidate.id} {candidate.origin}: {means[i]:.3f} after {calls[i]} metric calls")
        marks.append(f'<circle class=dot cx="{cx:.1f}" cy="{cy:.1f}" r="4"><title>{title}</title></circle>')
        if i == best:
            marks.append(f'<circle class=ring cx="{cx:.1f}" cy="{cy:.1f}" r="8"><title>best: {title}</title></circle>')
    return (
        svg("score against metric calls", marks)
        + "<p class=muted>Dots: each candidate, when it was found; line: the best validation score so far; "
        "ringed: the chosen best.</p>"
    )


def tradeoff_chart(state: RunState, summary: RunSummary | None) -> str:
    """The primary objective against a cost (the first ``min`` objective, else the prompt's length) for every
    candidate; front members filled, the chosen prompt ringed. Empty for a run with one objective: a trade-off
    needs two."""
    if summary is None or len(summary.objectives) < 2 or not state.candidates:
        return ""
    minimised = [o["name"] for o in summary.objectives if o["direction"] == "min"]
    maximised = [o["name"] for o in summary.objectives if o["direction"] == "max"]
    x_name, y_name = (minimised or ["prompt_chars"])[0], (maximised or ["score"])[0]
    means = [state.objective_means(i) for i in range(len(state.candidates))]
    if any(x_name not in m for m in means):
        return ""
    xs, ys = [m[x_name] for m in means], [m.get(y_name, 0.0) for m in means]
    x, y = axes_for(min(0.0, *xs), max(xs), min(0.0, *ys), max(1.0, *ys))
    marks = frame(x, y, f"{x_name} (mean over validation; lower is better)", f"{y_name} (mean over validation)")
    front = {m.id for m in summary.front}
    for candidate, xv, yv in zip(state.candidates, xs, ys, strict=True):
        css = "dot" if candidate.id in front else "dot off"
        title = esc(f"{candidate.id}: {y_name} {yv:.3f}, {x_name} {xv:.4g}")
        marks.append(
            f'<circle class="{css}" cx="{x.at(xv):.1f}" cy="{y.at(yv):.1f}" r="5"><title>{title}</title></circle>'
        )
        if candidate.id == summary.best.id:
            marks.append(
                f'<circle class=ring cx="{x.at(xv):.1f}" cy="{y.at(yv):.1f}" r="9"><title>chosen: '
                f"{esc(candidate.id)}</title></circle>"
            )
    return (
        f"<h3>Trade-off: {esc(y_name)} against {esc(x_name)}</h3>"
        + svg("trade-off", marks)
        + "<p class=muted>Blue: on the front, grey: off it, ringed: the chosen prompt.</p>"
    )
