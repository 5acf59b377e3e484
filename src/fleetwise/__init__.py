"""fleetwise: measure, diagnose, plan and convince for AI fleets.

The public API is what ``__all__`` lists; everything else may change between releases. A test
keeps this list and the package in step.

Names are imported on first use (PEP 562 ``__getattr__``): ``import fleetwise`` costs
nothing, so a command such as ``fleetwise trace analyze`` never pays for SQLAlchemy, Alembic
or SciPy it does not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fleetwise.collect.fingerprint import fingerprint, fingerprint_hash
    from fleetwise.collect.runner import RunInterrupted, RunOutcome, resume, run_suite
    from fleetwise.collect.suite import Suite, load_suite
    from fleetwise.errors import (
        BenchmarkError,
        FleetwiseError,
        InputError,
        MissingDependencyError,
        StoreError,
        SuiteError,
    )
    from fleetwise.hardware import peak_for
    from fleetwise.models import (
        SCHEMA_VERSION,
        EnvironmentRecord,
        Peak,
        ResultRecord,
        ResultStatus,
        RunRecord,
        RunStatus,
        Summary,
    )
    from fleetwise.stats import mlperf_aggregate, stability_warnings, summarize
    from fleetwise.store import Store

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_HOMES = {
    "fingerprint": "fleetwise.collect.fingerprint",
    "fingerprint_hash": "fleetwise.collect.fingerprint",
    "RunInterrupted": "fleetwise.collect.runner",
    "RunOutcome": "fleetwise.collect.runner",
    "resume": "fleetwise.collect.runner",
    "run_suite": "fleetwise.collect.runner",
    "Suite": "fleetwise.collect.suite",
    "load_suite": "fleetwise.collect.suite",
    "BenchmarkError": "fleetwise.errors",
    "FleetwiseError": "fleetwise.errors",
    "InputError": "fleetwise.errors",
    "MissingDependencyError": "fleetwise.errors",
    "StoreError": "fleetwise.errors",
    "SuiteError": "fleetwise.errors",
    "peak_for": "fleetwise.hardware",
    "SCHEMA_VERSION": "fleetwise.models",
    "EnvironmentRecord": "fleetwise.models",
    "Peak": "fleetwise.models",
    "ResultRecord": "fleetwise.models",
    "ResultStatus": "fleetwise.models",
    "RunRecord": "fleetwise.models",
    "RunStatus": "fleetwise.models",
    "Summary": "fleetwise.models",
    "mlperf_aggregate": "fleetwise.stats",
    "stability_warnings": "fleetwise.stats",
    "summarize": "fleetwise.stats",
    "Store": "fleetwise.store",
}

__all__ = [
    "SCHEMA_VERSION",
    "BenchmarkError",
    "EnvironmentRecord",
    "FleetwiseError",
    "InputError",
    "MissingDependencyError",
    "Peak",
    "ResultRecord",
    "ResultStatus",
    "RunInterrupted",
    "RunOutcome",
    "RunRecord",
    "RunStatus",
    "Store",
    "StoreError",
    "Suite",
    "SuiteError",
    "Summary",
    "__version__",
    "fingerprint",
    "fingerprint_hash",
    "load_suite",
    "mlperf_aggregate",
    "peak_for",
    "resume",
    "run_suite",
    "stability_warnings",
    "summarize",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'fleetwise' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
