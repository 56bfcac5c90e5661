"""Run directories: ``runs/<task>-<utc stamp>/`` holding everything a run knows, in readable JSON (``gepa.jsonfiles``).

config.json    the resolved task (never an API key: keys stay in the environment)
events.jsonl   append-only log of every engine event
state.json     the run state, replaced atomically after every iteration (resume reads it)
usage.jsonl    every amount of calls, cache hits, tokens and cost as it is recorded, flushed per call
usage.json     their totals per model and role, written with each checkpoint
best/          the best candidate's components as plain text files
summary.json   final scores and counts, written when the run ends
val_inputs.jsonl  each validation example's input fields, in validation order (the report shows them)
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from gepa.core.candidate import Candidate
from gepa.core.state import RunState
from gepa.core.types import Example
from gepa.errors import RunStateError, StateFormatError
from gepa.jsonfiles import atomic_write, json_line, load_json, write_json
from gepa.lm.ledger import Journal, UsageLedger
from gepa.run.summary import RunSummary


def read_json(path: Path) -> Any:
    """A run file's JSON; missing or damaged, a RunStateError that says so."""
    try:
        return load_json(path)
    except FileNotFoundError as exc:
        raise RunStateError(f"{path}: missing; is this a gepa run directory?") from exc
    except ValueError as exc:
        raise RunStateError(f"{path}: corrupt or truncated JSON ({exc}); the run cannot be resumed from it") from exc


TRACKING_FILE = "mlflow_run.json"  # the MLflow run that tracks this run (gepa.run.tracking)
INPUTS_FILE = "val_inputs.jsonl"


class RunDir:
    """One run's directory. ``create`` makes a new one; ``open`` reads an existing one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._logged = 0  # rollouts in rollouts.jsonl that state.json accounts for
        self._log_end = 0  # and the byte where they end (anything after is a crash's leftover)
        self.notes: list[str] = []  # what reading the run had to leave out, for the commands to show

    @classmethod
    def create(cls, runs_root: Path, task_name: str) -> RunDir:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        for attempt in range(1000):
            root = runs_root / (f"{task_name}-{stamp}" + (f"-{attempt}" if attempt else ""))
            try:
                root.mkdir(parents=True)
                return cls(root)
            except FileExistsError:
                continue
        raise RunStateError(f"cannot create a run directory under {runs_root}")

    @classmethod
    def at(cls, path: Path) -> RunDir:
        """A new run in exactly ``path`` (``gepa.optimize(run_dir=...)``): it may exist only if it is empty."""
        path.mkdir(parents=True, exist_ok=True)
        if any(path.iterdir()):
            raise RunStateError(
                f"{path}: not empty and not a gepa run directory (no config.json); give a new or empty folder"
            )
        return cls(path)

    @classmethod
    def open(cls, path: str | Path, runs_root: str | Path | None = None) -> RunDir:
        """A run by its path, by its name as ``runs list`` prints it (under ``runs_root``, default
        ``$GEPA_RUNS_DIR`` or ``runs``), or ``latest``: the newest run there."""
        root = Path(path)
        if not (root / "config.json").is_file() and len(root.parts) == 1:
            under = Path(runs_root if runs_root is not None else os.environ.get("GEPA_RUNS_DIR", "runs"))
            if str(path) == "latest":
                found = sorted(list_runs(under), key=lambda run: (run.root / "config.json").stat().st_mtime)
                if not found:
                    raise RunStateError(f"latest: no run under {under}")
                return found[-1]
            if (under / root / "config.json").is_file():
                root = under / root
        if not (root / "config.json").is_file():
            raise RunStateError(f"{root}: not a gepa run directory (no config.json)")
        return cls(root)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run directory for this process: a second process working in it is refused, not interleaved."""
        lock = FileLock(str(self.root / ".lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise RunStateError(
                f"{self.root}: another gepa process is working in this run; wait for it to finish "
                "(or stop it with a STOP file in the run directory)"
            ) from None
        try:
            yield
        finally:
            lock.release()

    # -- writing ----------------------------------------------------------------------------------
    def write_config(self, config: Mapping[str, Any]) -> None:
        write_json(self.root / "config.json", dict(config))

    def append_event(self, event: Mapping[str, Any]) -> None:
        with open(self.root / "events.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json_line({"time": round(time.time(), 3), **event}))

    def save_state(self, state: RunState, usage: list[dict[str, Any]]) -> None:
        """A checkpoint that costs the new work only: new rollouts are appended to rollouts.jsonl, then the
        small state.json (which counts them) is replaced atomically. A crash between the two leaves extra log
        lines that the next load ignores and the next save overwrites."""
        records = state.rollout_records(self._logged)
        if records or self._log_end == 0:
            with open(self.root / "rollouts.jsonl", "ab" if self._log_end else "wb") as handle:
                handle.seek(self._log_end)
                handle.truncate()
                handle.write("".join(json_line(r) for r in records).encode())
                self._log_end = handle.tell()
            self._logged = len(state.rollout_log)
        write_json(self.root / "state.json", state.to_dict(rollouts=False), durable=False, compact=True)
        write_json(self.root / "usage.json", usage, durable=False)

    @contextmanager
    def usage_journal(self, carried: Sequence[Mapping[str, Any]] = ()) -> Iterator[Journal]:
        """Append each recorded amount to usage.jsonl and flush it: a run killed between checkpoints keeps
        the record of every call it paid for. ``carried`` (a resumed run's totals from an older gepa, which kept
        only usage.json) starts a new journal."""
        path = self.root / "usage.jsonl"
        fresh = not path.is_file() or path.stat().st_size == 0
        with open(path, "a", encoding="utf-8") as handle:

            def journal(model: str, role: str, amounts: Mapping[str, Any]) -> None:
                handle.write(json_line({"model": model, "role": role, **amounts}))
                handle.flush()

            if fresh:
                for row in carried:
                    journal(
                        str(row["model"]),
                        str(row["role"]),
                        {k: v for k, v in row.items() if k not in ("model", "role")},
                    )
            yield journal

    def write_best(self, candidate: Candidate) -> Path:
        best = self.root / "best"
        for name, text in candidate.components.items():
            atomic_write(best / f"{name}.txt", text)
        write_json(best / "candidate.json", candidate.to_dict())
        return best

    def write_summary(self, summary: RunSummary) -> None:
        write_json(self.root / "summary.json", summary.to_dict())

    def write_inputs(self, examples: Sequence[Example], names: Sequence[str]) -> None:
        """The validation examples' ``names`` fields (every field but ``id`` when none is named), once per run:
        rollouts keep only the rendered messages, and the report shows each example's input beside the answers."""

        def inputs(example: Example) -> dict[str, Any]:
            return {k: v for k, v in example.fields.items() if (k in names if names else k != "id")}

        lines = (json_line({"id": e.id, "inputs": inputs(e)}, default=str) for e in examples)
        atomic_write(self.root / INPUTS_FILE, "".join(lines), durable=False)

    # -- reading ----------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        data = read_json(self.root / "config.json")
        if not isinstance(data, dict):
            raise RunStateError(f"{self.root / 'config.json'}: not a JSON object")
        return data

    def has_state(self) -> bool:
        return (self.root / "state.json").is_file()

    def checkpoint_iteration(self) -> int | None:
        """The iteration the last checkpoint reached, read without the rollouts (None without a readable one)."""
        try:
            data = read_json(self.root / "state.json")
        except (OSError, RunStateError):
            return None
        value = data.get("iteration") if isinstance(data, dict) else None
        return value if isinstance(value, int) else None

    def load_state(self) -> RunState:
        """The last checkpoint, with the rollouts it counts read back from rollouts.jsonl. A log line that was cut
        or damaged drops that rollout only (the scores live in state.json); ``notes`` then says which, and the
        next save rewrites the whole log from what was kept."""
        path = self.root / "state.json"
        data = read_json(path)
        count = data.get("rollouts_logged") if isinstance(data, dict) else None
        records, end = self._read_log(count) if isinstance(count, int) else (None, 0)
        try:
            state = RunState.from_dict(data, records)
        except StateFormatError as exc:
            raise RunStateError(f"{path}: {exc}") from exc
        damaged = isinstance(count, int) and len(state.rollout_log) < count
        self._logged, self._log_end = (0, 0) if damaged else (len(state.rollout_log), end)
        return state

    def _read_log(self, count: int) -> tuple[list[dict[str, Any]], int]:
        """The first ``count`` records of rollouts.jsonl (lines past them are a crash's leftover) and the byte
        where they end; a line that cannot be read is left out and named in ``notes``."""
        path = self.root / "rollouts.jsonl"
        records: list[dict[str, Any]] = []
        dropped: list[str] = []
        end = number = 0
        try:
            with open(path, "rb") as handle:
                while number < count and (line := handle.readline()):
                    number += 1
                    try:
                        record = json.loads(line) if line.endswith(b"\n") else None
                    except ValueError:
                        record = None
                    if not isinstance(record, dict):
                        dropped.append(_dropped(line, number))
                        continue
                    records.append(record)
                    end = handle.tell()
        except FileNotFoundError:
            pass
        if number < count:
            dropped.append(f"{count - number} rollouts were never written")
        if dropped:
            self.notes.append(
                f"{path}: {len(records)} of {count} rollouts read; "
                + "; ".join(dropped)
                + ". The scores in state.json are intact; the next save of the run rewrites the log"
            )
        return records, end

    def usage(self) -> list[dict[str, Any]]:
        """Totals per model and role: summed from usage.jsonl (complete even after a crash), else usage.json."""
        journal = self.root / "usage.jsonl"
        if not journal.is_file() or journal.stat().st_size == 0:
            path = self.root / "usage.json"
            return list(read_json(path)) if path.is_file() else []
        rows = []
        for line in journal.read_text(encoding="utf-8").split("\n"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a line cut by a crash: the call it would record was never cached either
        totals = UsageLedger()
        totals.restore(rows)
        return totals.to_dict()

    def summary(self) -> RunSummary | None:
        path = self.root / "summary.json"
        if not path.is_file():
            return None
        try:
            return RunSummary.from_dict(read_json(path))
        except (TypeError, KeyError) as exc:
            raise RunStateError(f"{path}: not a summary this gepa can read ({exc})") from exc

    def inputs(self) -> list[tuple[str, dict[str, Any]]]:
        """(example id, input fields) of each validation example, in validation order; empty for a run written
        before gepa kept them."""
        path = self.root / INPUTS_FILE
        if not path.is_file():
            return []
        rows = []
        for line in path.read_text(encoding="utf-8").split("\n"):
            try:
                row = json.loads(line)
                rows.append((str(row["id"]), dict(row["inputs"])))
            except (ValueError, KeyError, TypeError):
                continue  # a damaged line loses that example's input only
        return rows

    def mlflow_run_id(self) -> str | None:
        """The MLflow run that tracked this run, if one did (``tracking: {mlflow: ...}``)."""
        try:
            return str(read_json(self.root / TRACKING_FILE)["run_id"])
        except (RunStateError, OSError, ValueError, KeyError, TypeError):
            return None

    def events(self) -> list[dict[str, Any]]:
        path = self.root / "events.jsonl"
        if not path.is_file():
            return []
        rows = []
        for line in path.read_text(encoding="utf-8").split("\n"):  # not splitlines(): U+2028 is valid in JSON
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a line cut by a crash; the state file is the source of truth
        return rows


def _dropped(line: bytes, number: int) -> str:
    """What a log line that cannot be read held, as far as its start tells."""
    why = "was cut short, as by a crash while it was written" if not line.endswith(b"\n") else "is not valid JSON"
    text = line.decode("utf-8", errors="replace")
    candidate = re.search(r'"candidate":\s*"([^"]+)"', text)
    example = re.search(r'"example_id":\s*"([^"]+)"', text)
    if candidate and example:
        return f"dropped the rollout of candidate {candidate.group(1)} on {example.group(1)} (line {number} {why})"
    return f"dropped line {number} ({why})"


def list_runs(runs_root: Path) -> list[RunDir]:
    if not runs_root.is_dir():
        return []
    return [RunDir(p) for p in sorted(runs_root.iterdir()) if (p / "config.json").is_file()]
