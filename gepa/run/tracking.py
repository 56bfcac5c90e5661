"""Tracking an optimisation run in MLflow (optional extra ``mlflow``): parameters at the start, a metric history
per iteration, the final figures with their intervals, and the run's report, summary and best prompt as
artifacts. The MLflow run id is kept in the run directory, so ``gepa export --to mlflow`` tags the prompt with
the run that produced it. A tracking failure is one warning and never stops a paid run."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from gepa.core.events import Event
from gepa.errors import UserError
from gepa.jsonfiles import load_json, write_json
from gepa.registry.mlflow_support import import_mlflow, mlflow_problem
from gepa.run.rundir import TRACKING_FILE, RunDir
from gepa.run.summary import RunSummary


class MlflowTracker:
    """An event callback that mirrors the run into one MLflow run; every MLflow call is guarded."""

    def __init__(self, run_dir: RunDir, *, uri: str | None, experiment: str, params: Mapping[str, Any]) -> None:
        self.run_dir, self.client, self.run_id, self.uri = run_dir, None, None, uri
        self.best_val, self.accepted, self.rejected = 0.0, 0, 0
        try:
            import_mlflow("tracking: mlflow")
            from mlflow.tracking import MlflowClient

            self.client = MlflowClient(tracking_uri=uri)
            previous = run_dir.root / TRACKING_FILE
            if previous.is_file():  # a resumed run goes on logging into its own MLflow run
                self.run_id = load_json(previous)["run_id"]
                self.client.update_run(self.run_id, status="RUNNING")
                return
            found = self.client.get_experiment_by_name(experiment)
            experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
            run = self.client.create_run(experiment_id, run_name=run_dir.root.name)
            self.run_id = run.info.run_id
            for key, value in params.items():
                self.client.log_param(self.run_id, key, str(value)[:500])
            write_json(previous, {"run_id": self.run_id, "uri": uri, "experiment": experiment})
        except Exception as exc:  # noqa: BLE001 - tracking must never stop the run
            self._give_up(exc)

    def __call__(self, event: Event) -> None:
        if self.client is None or self.run_id is None:
            return
        data = event.data
        try:
            if event.kind == "new_best":  # the seed's comes first
                self.best_val = float(data["score"])
            elif event.kind in ("candidate_accepted", "merge_accepted"):
                self.accepted += 1
            elif event.kind in ("candidate_rejected", "merge_rejected", "proposal_rejected"):
                self.rejected += 1
            elif event.kind == "budget":
                metrics = {
                    "best_val": self.best_val,
                    "metric_calls": float(data["metric_calls"]),
                    "cost_usd": float(data.get("cost_usd") or 0.0),
                    "accepted": float(self.accepted),
                    "rejected": float(self.rejected),
                }
                for key, value in metrics.items():
                    self.client.log_metric(self.run_id, key, value, step=event.iteration)
        except Exception as exc:  # noqa: BLE001 - tracking must never stop the run
            self._give_up(exc)

    def finish(self, summary: RunSummary) -> None:
        """The final figures (with each split's gain interval) and the run's files as artifacts."""
        if self.client is None or self.run_id is None:
            return
        try:
            finals = {
                "seed_val": summary.seed.val,
                "best_val": summary.best.val,
                "seed_test": summary.seed.test,
                "best_test": summary.best.test,
                "model_calls": summary.usage.model_calls,
                "cost_usd": summary.usage.cost_usd,
            }
            for split, gain in summary.gains.items():
                finals |= {
                    f"gain_{split}": gain["mean"],
                    f"gain_{split}_low": gain["low"],
                    f"gain_{split}_high": gain["high"],
                }
            for key, value in finals.items():
                if isinstance(value, int | float):
                    self.client.log_metric(self.run_id, key, float(value), step=summary.iterations)
            root = self.run_dir.root
            for name in ("report.html", "summary.json", "config.json"):
                if (root / name).is_file():
                    self.client.log_artifact(self.run_id, str(root / name))
            if (root / "best").is_dir():
                self.client.log_artifacts(self.run_id, str(root / "best"), artifact_path="best")
            status = "FINISHED" if summary.status == "finished" else "KILLED"
            self.client.set_terminated(self.run_id, status=status)
        except Exception as exc:  # noqa: BLE001 - tracking must never stop the run
            self._give_up(exc)

    def _give_up(self, exc: Exception) -> None:
        problem = str(exc) if isinstance(exc, UserError) else mlflow_problem(exc, self.uri, "tracking.mlflow.uri")
        print(f"warning: MLflow tracking stopped ({problem}); the run goes on", file=sys.stderr)
        self.client = None
