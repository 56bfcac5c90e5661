"""``runs/<id>/report.html``: one static page a person opens in a browser to see what a run did.

First what the run is for: seed against best on every split with the paired interval, the run's one-line
warnings, and the best prompt with its changes from the seed. Then every validation example with its input, the
expected answer and both prompts' outputs and scores; the charts; the front; the lineage, the accepted changes
and the rejected proposals grouped by why. Inline SVG and CSS, and a few lines of script that only filter the
examples: no network, opens from disk, complete without script.

    from gepa.run.report import write_report
    write_report(RunDir.open("runs/polarity-20250101-120000"))
"""

from __future__ import annotations

from pathlib import Path

from gepa.jsonfiles import atomic_write
from gepa.run.report.history import rejected_proposals
from gepa.run.report.page import render
from gepa.run.rundir import RunDir
from gepa.run.summary import RunSummary


def write_report(run_dir: RunDir, summary: RunSummary | None = None) -> Path:
    """Render the report from the run directory's files (and ``summary``, when the caller has a newer one than
    summary.json); returns its path."""
    state = run_dir.load_state()
    page = render(
        state,
        run_dir.events(),
        run_dir.config(),
        summary if summary is not None else run_dir.summary(),
        run_dir.inputs(),
    )
    path = run_dir.root / "report.html"
    atomic_write(path, page)
    return path


__all__ = ["rejected_proposals", "render", "write_report"]
