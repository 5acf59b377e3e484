"""What the set-based analyses are checked against their per-record oracles with.

``close`` compares results as the columnar tests require (groups, keys and order exactly,
floats to 1e-9 relative: sums differ only by order), and ``JOB_LOGS`` is every job log
fixture those tests run over.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

CLUSTERS = Path(__file__).parent / "data" / "clusters"
JOB_LOGS = [
    CLUSTERS / "formats" / "sacct.txt",
    CLUSTERS / "formats" / "sacct_nodelist.txt",
    CLUSTERS / "formats" / "helios_jobs.csv",
    CLUSTERS / "formats" / "philly_jobs.json",
    CLUSTERS / "formats" / "philly_placed.json",
    CLUSTERS / "alibaba_pods_head800.csv",
    CLUSTERS / "alibaba_2025_dlrm_head50.csv",
]


def close(a: Any, b: Any) -> bool:
    """``a`` equals ``b``, floats to 1e-9 relative, through dicts, lists and dataclasses."""
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict):
        return list(a) == list(b) and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and close(a.__dict__, b.__dict__)
    return bool(a == b)
