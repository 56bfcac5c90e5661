"""report.html: the run's story in one static page, best prompt first, one row per validation example, rendered
by headless Chromium without errors."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gepa.cli import main
from gepa.lm.base import Message
from gepa.run.report import rejected_proposals, write_report
from gepa.run.report.charts import Axis
from gepa.run.report.markup import feedback_block, score_colour
from gepa.run.rundir import RunDir
from tests import fakes
from tests.fakes import write_task

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = "<img src=x onerror=alert(1)>"


class Page(HTMLParser):
    """What a reader sees of a report: the sections in page order and the rows of the examples table."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.rows: list[dict[str, str | None]] = []
        self.cells: list[list[str]] = []
        self._in_table = self._in_cell = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and found.get("id"):
            self.sections.append(str(found["id"]))
        elif tag == "table" and found.get("id") == "examples":
            self._in_table = True
        elif tag == "tr" and self._in_table and "data-change" in found:
            self.rows.append(found)
            self.cells.append([])
        elif tag == "td" and self._in_table and self.rows:
            self._in_cell = True
            self.cells[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag == "td":
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells[-1][-1] += data


def optimize(task: Path, runs: Path, *args: str) -> Path:
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(runs), *args])
    assert result.exit_code == 0, result.output
    run_dir = next(runs.iterdir())
    assert f"report: {run_dir / 'report.html'}" in result.output
    return run_dir


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    return optimize(write_task(tmp / "toy", budget=200), tmp / "runs", "--seed", "1")


@pytest.fixture(scope="module")
def report(run: Path) -> Path:
    return run / "report.html"


def test_the_report_tells_the_runs_story(report: Path) -> None:
    page = report.read_text()
    assert page.count("<circle") >= 4  # every candidate on the score-against-budget chart
    assert "<polyline" in page  # the best-so-far line
    assert 'class="num win"' in page  # the Pareto table marks winners
    assert "mutation:system" in page and "mutation:user" in page and "<ul class=tree>" in page  # lineage
    assert '<span class="add">+Answer with one word:</span>' in page  # a diff from its parent
    assert "Feedback that motivated it" in page and "Wrong answer. Expected" in page


def test_the_headline_and_the_best_prompt_come_before_everything_else(run: Path, report: Path) -> None:
    page = report.read_text()
    summary = json.loads((run / "summary.json").read_text())
    gain = summary["gains"]["validation"]
    assert Page(page).sections == ["best", "examples", "charts", "answers", "front", "lineage", "accepted", "rejected"]
    headline = page[: page.index('<section id="best">')]
    assert "validation" in headline and "test" in headline and "Reflection:" in headline  # diagnosis on top
    assert (
        f"+{gain['mean']:.3f} (95% interval {gain['low']:+.3f} to {gain['high']:+.3f}; {gain['better']} better, "
        f"{gain['worse']} worse of {gain['n']})"
    ) in headline
    best = page[page.index('<section id="best">') : page.index('<section id="examples">')]
    for text in summary["best"]["components"].values():
        assert f"<pre class=prompt>{text}</pre>" in best  # the best prompt in full (no markup in the fakes' text)
    assert re.search(r"<ins>\s*" + re.escape(fakes.RULE_A) + "</ins>", best)  # marked against the seed


def test_every_validation_example_has_a_row_with_its_input_answers_and_scores(run: Path, report: Path) -> None:
    page = Page(report.read_text())
    val = [json.loads(line) for line in (run.parent.parent / "toy" / "data" / "val.jsonl").read_text().splitlines()]
    assert len(page.rows) == len(val) == 10
    for row, cells, example in zip(page.rows, page.cells, val, strict=True):
        _number, inputs, expected, seed_output, best_output, seed_score, best_score, feedback = cells
        assert example["text"] in inputs and expected == example["label"]
        kind = example["text"][1]
        # The best holds both rules: it solves a and b examples and loses the c ones, which only the seed solves.
        assert (seed_output, best_output) == (
            ("unsure", example["label"]) if kind != "c" else (example["label"], "unsure")
        )
        assert (row["data-change"], seed_score, best_score) == (
            ("better", "0.00", "1.00") if kind != "c" else ("worse", "1.00", "0.00")
        )
        assert feedback.startswith("Correct" if kind != "c" else "Wrong answer.")


def test_the_chart_has_ticks_and_named_axes_and_one_objective_has_no_trade_off(report: Path) -> None:
    page = report.read_text()
    chart = page[page.index('<section id="charts">') : page.index('<section id="answers">')]
    for tick in ("0</text>", "0.2</text>", "0.4</text>", "0.6</text>", "0.8</text>", "1</text>"):
        assert tick in chart
    assert "metric calls spent" in chart and "validation score (mean)" in chart
    assert 'aria-label="trade-off"' not in page  # a single objective trades nothing off
    assert Axis(low=0, high=69, start=0, end=1).ticks() == [0, 20, 40, 60]
    assert Axis(low=0, high=1, start=0, end=1).ticks() == [0, 0.2, 0.4, 0.6, 0.8, 1]
    assert Axis(low=120, high=1900, start=0, end=1).ticks() == [500, 1000, 1500]


def test_scores_are_coloured_by_value_so_a_zero_is_never_green(report: Path) -> None:
    assert score_colour(0.0).startswith("hsl(0 ") and score_colour(1.0).startswith("hsl(120 ")
    page = report.read_text()
    assert f'style="background:{score_colour(0.0)}">0.00</td>' in page
    assert f'style="background:{score_colour(1.0)}">0.00</td>' not in page


def test_rejected_proposals_are_grouped_by_why_with_a_count_and_the_first_example() -> None:
    def unchanged(iteration: int) -> dict[str, Any]:
        return {
            "kind": "proposal_rejected",
            "iteration": iteration,
            "reason": "unchanged",
            "component": "system",
            "detail": f"the reflector returned the same text ({iteration})",
            "text": "You classify.",
        }

    events = [
        unchanged(1),
        unchanged(2),
        unchanged(3),
        unchanged(7),
        {
            "kind": "candidate_rejected",
            "iteration": 5,
            "reason": "not better",
            "parent_minibatch": 2.0,
            "child_minibatch": 1.0,
            "components": {"user": "Say it <loud>"},
        },
        {"kind": "candidate_accepted", "iteration": 6},
    ]
    page = rejected_proposals(events)
    assert page.startswith("<p>5 proposals went no further")
    assert page.count("<tr>") == 3  # the header and one row per reason, the most frequent first
    assert page.index("unchanged") < page.index("not better")
    assert "<td class=num>4</td>" in page and "<td>1&ndash;3, 7</td>" in page and "1 distinct text" in page
    assert "the same text (1)" in page and "the same text (2)" not in page  # one example each
    assert "[system] You classify." in page
    assert "not better on the minibatch: 1.00 against the parent&#x27;s 2.00" in page
    assert "Say it &lt;loud&gt;" in page


def test_feedback_shows_the_line_breaks_an_evaluator_quoted() -> None:
    block = feedback_block("the output was 'yes\\n\\nno' and a path C:\\\\new")
    assert "yes\n\nno" in block and "\\n\\n" not in block
    assert "C:\\\\new" in block  # an escaped backslash before an n is not a line break


def two_line_model(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """Answers the label, then an explanation on lines of its own, quoting the input's markup."""
    return f"{fakes.task_model(messages, params)}\n\nbecause {HOSTILE}"


def test_user_text_is_escaped_and_feedback_keeps_its_lines(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=30, model="fake/tests.test_report:two_line_model")
    rows = [{"text": f"[a] {HOSTILE} review {i} is positive", "label": "positive"} for i in range(5)]
    (tmp_path / "toy" / "data" / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    page = (optimize(task, tmp_path / "runs") / "report.html").read_text()
    assert HOSTILE not in page and page.count("&lt;img src=x onerror=alert(1)&gt;") >= 10
    assert "\\n" not in page  # exact's feedback quotes the output with repr(): shown as lines
    assert "the output was &#x27;unsure\n\nbecause &lt;img" in page


def test_the_run_directory_keeps_each_validation_inputs_without_the_expected_answer(run: Path, tmp_path: Path) -> None:
    val = [json.loads(line) for line in (run.parent.parent / "toy" / "data" / "val.jsonl").read_text().splitlines()]
    assert RunDir.open(run).inputs() == [(f"val/{i}", {"text": row["text"]}) for i, row in enumerate(val)]
    copy = shutil.copytree(run, tmp_path / "damaged")
    lines = (copy / "val_inputs.jsonl").read_text().splitlines()
    (copy / "val_inputs.jsonl").write_text("\n".join([lines[0][:-5], *lines[1:]]) + "\n")  # as a bad disk leaves
    assert [eid for eid, _ in RunDir.open(copy).inputs()] == [f"val/{i}" for i in range(1, 10)]
    rows = Page(write_report(RunDir.open(copy)).read_text())  # still every example, the lost input as sent
    assert len(rows.rows) == 10 and "(the seed's message)" in rows.cells[0][1] and "text" in rows.cells[1][1]


def test_a_run_without_inputs_or_summary_still_has_one_row_per_example(run: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(run, tmp_path / "older")
    (copy / "val_inputs.jsonl").unlink()  # written before gepa kept them
    (copy / "summary.json").unlink()  # or unfinished: `gepa runs report` on a run still going
    page = write_report(RunDir.open(copy)).read_text()
    rows = Page(page)
    assert len(rows.rows) == 10 and all("(the seed's message)" in cells[1] for cells in rows.cells)
    assert "Review: [a] review 100 is positive" in rows.cells[0][1]
    assert "+0.600 (95% interval" in page[: page.index('<section id="best">')]  # paired here, as the summary does


def chromium(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = "--user-data-dir=" + str(tmp_path / "profile")
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, profile, *args, page.as_uri()], capture_output=True, text=True, timeout=120
    )


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_headless_chromium_renders_the_best_prompt_first_and_a_row_per_example(report: Path, tmp_path: Path) -> None:
    dom = chromium(report, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr
    page = Page(dom.stdout)
    assert page.sections.index("best") < page.sections.index("charts")
    assert dom.stdout.index('<pre class="prompt">') < dom.stdout.index("<svg")
    assert len(page.rows) == 10 and not any("hidden" in row for row in page.rows)
    assert '<p id="example-filter" class="filter">' in dom.stdout  # the script ran: the filter is shown
    shot = tmp_path / "report.png"
    chromium(report, tmp_path, f"--screenshot={shot}", "--window-size=1200,1800").check_returncode()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_the_filter_leaves_only_the_rows_whose_score_changed_that_way(report: Path, tmp_path: Path) -> None:
    clicked = tmp_path / "clicked.html"
    click = "<script>document.querySelector('[data-show=worse]').click()</script></body>"
    clicked.write_text(report.read_text().replace("</body>", click))
    dom = chromium(clicked, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr
    shown = [row["data-change"] for row in Page(dom.stdout).rows if "hidden" not in row]
    assert shown == ["worse", "worse"]  # the two c examples, which only the seed solves
