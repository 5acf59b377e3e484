"""The process one benchmark case runs in: ``python -m fleetwise.collect.worker SPEC OUT``.

The runner writes a case spec (JSON) to SPEC; the worker runs the benchmark (set-up,
warm-up samples discarded, ``repeat`` measured samples, tear-down) and writes the raw
samples to OUT. A separate process per case isolates benchmarks from one another (no
allocator, thread-pool or cache state carried over) and lets the runner enforce a
timeout by killing it. Results go to a file, not stdout, because tools that benchmarks
run (fio, torch) may print.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleetwise.collect.benchmarks.base import CaseContext, get_benchmark, validate_params
from fleetwise.errors import BenchmarkError, MissingDependencyError
from fleetwise.models import SCHEMA_VERSION


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy is a core dependency
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one case in this process and return the outcome document (never raises
    for a benchmark's own failure: that becomes ``status: failed`` with the error)."""
    started = datetime.now(UTC)
    bench_cls = get_benchmark(spec["benchmark"])
    params = validate_params(bench_cls, spec.get("params", {}))
    specs = bench_cls.metrics(params)
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "benchmark": bench_cls.name,
        "status": "ok",
        "error": None,
        "params": params.model_dump(mode="json"),
        "metrics": [
            {"name": m.name, "unit": m.unit, "direction": m.direction, "samples": [], "peak": None}
            for m in specs
        ],
        "calibration": {},
        "notes": [],
        "started_at": started.isoformat(),
    }
    workdir = Path(spec.get("workdir") or tempfile.mkdtemp(prefix="fleetwise-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = CaseContext(
        workdir=workdir,
        min_sample_time=float(spec.get("min_sample_time", 0.05)),
        seed=int(spec.get("seed", 0)),
    )
    _seed_everything(ctx.seed)
    bench = bench_cls(params, ctx)
    set_up = False
    try:
        bench.setup()
        set_up = True
        for _ in range(int(spec.get("warmup", 1))):
            bench.sample()
        repeat = int(spec.get("repeat", 5))
        max_time = spec.get("max_time")
        t0 = time.monotonic()
        for i in range(repeat):
            values = bench.sample()
            for m in out["metrics"]:
                m["samples"].append(float(values[m["name"]]))
            # A time budget may cut sampling short, but never below 3 samples.
            if max_time is not None and i >= 2 and time.monotonic() - t0 > float(max_time):
                break
        out["params"] = bench.resolved_params()
        out["calibration"] = bench.calibration()
        for m, metric_spec in zip(out["metrics"], specs, strict=True):
            peak = bench.peak(metric_spec) if metric_spec.peak else None
            m["peak"] = peak.model_dump() if peak is not None else None
    except (BenchmarkError, MissingDependencyError) as exc:
        out["status"] = "skipped"
        out["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - a benchmark's crash is data, not our crash
        out["status"] = "failed"
        tb = traceback.format_exception(exc)
        out["error"] = f"{type(exc).__name__}: {exc}\n" + "".join(tb[-3:])
    finally:
        if set_up:
            try:
                bench.teardown()
            except Exception as exc:  # noqa: BLE001
                ctx.notes.append(f"teardown failed: {exc}")
    if out["status"] != "ok":
        for m in out["metrics"]:
            m["samples"] = []
    out["notes"] = list(ctx.notes)
    out["finished_at"] = datetime.now(UTC).isoformat()
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m fleetwise.collect.worker SPEC.json OUT.json\n")
        return 2
    spec = json.loads(Path(args[0]).read_text())
    result = measure(spec)
    tmp = Path(args[1] + ".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(args[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
