"""report.html: the run's story in one static page, rendered by headless Chromium without errors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main
from tests.fakes import write_task

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    task = write_task(tmp / "toy", budget=200)
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp / "runs"), "--seed", "1"])
    assert result.exit_code == 0, result.output
    run_dir = next((tmp / "runs").iterdir())
    assert f"report: {run_dir / 'report.html'}" in result.output
    return run_dir / "report.html"


def test_the_report_tells_the_runs_story(report: Path) -> None:
    page = report.read_text()
    assert page.count("<circle") >= 4  # every candidate on the score-against-budget chart
    assert "<polyline" in page  # the best-so-far line
    assert 'class="win"' in page  # the Pareto table marks winners
    assert "mutation:system" in page and "mutation:user" in page and "<ul class=tree>" in page  # lineage
    assert '<span class="add">+Answer with one word:</span>' in page  # a diff from its parent
    assert "Feedback that motivated it" in page and "Wrong answer. Expected" in page


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_headless_chromium_renders_the_report(report: Path, tmp_path: Path) -> None:
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run([CHROMIUM, *FLAGS, *profile, "--dump-dom", report.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr
    assert "<svg" in dom.stdout and "Pareto front" in dom.stdout and "Lineage" in dom.stdout
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *FLAGS, *profile, f"--screenshot={shot}", "--window-size=1200,1800", report.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
