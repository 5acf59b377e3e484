"""fleetwise: measure, diagnose, plan and convince for AI fleets.

The public Python API is what ``__all__`` lists; everything else may change between
releases. A test keeps this list and the package in step.
"""

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
