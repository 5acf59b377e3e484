"""Serialise a run and its results as JSON or CSV (what ``bench export`` writes)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from fleetwise.models import SCHEMA_VERSION, EnvironmentRecord, ResultRecord, RunRecord

CSV_COLUMNS = (
    "run_id",
    "benchmark",
    "layer",
    "params",
    "metric",
    "unit",
    "direction",
    "status",
    "n",
    "median",
    "mean",
    "stdev",
    "iqr",
    "ci_low",
    "ci_high",
    "cv",
    "min",
    "max",
    "peak",
    "peak_unit",
    "peak_source",
    "efficiency",
    "warnings",
    "error",
    "samples",
)


def run_document(
    run: RunRecord, results: Sequence[ResultRecord], envs: Sequence[EnvironmentRecord]
) -> dict[str, Any]:
    """The versioned JSON document of a run (``schema_version`` first)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run": run.model_dump(mode="json"),
        "environments": [e.model_dump(mode="json") for e in envs],
        "results": [r.model_dump(mode="json") for r in results],
    }


def to_json(doc: Any) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, default=str)


def results_csv(run: RunRecord, results: Sequence[ResultRecord]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        s = r.summary
        stats = s.model_dump() if s else {}
        writer.writerow(
            {
                "run_id": run.id,
                "benchmark": r.benchmark,
                "layer": r.layer,
                "params": json.dumps(r.params, sort_keys=True),
                "metric": r.metric,
                "unit": r.unit,
                "direction": r.direction,
                "status": r.status.value,
                **{k: stats.get(k, "") for k in CSV_COLUMNS[8:18]},
                "peak": r.peak.value if r.peak else "",
                "peak_unit": r.peak.unit if r.peak else "",
                "peak_source": r.peak.source if r.peak else "",
                "efficiency": "" if r.efficiency is None else r.efficiency,
                "warnings": " | ".join(r.warnings),
                "error": r.error or "",
                "samples": " ".join(repr(x) for x in r.samples),
            }
        )
    return buf.getvalue()
