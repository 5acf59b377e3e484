"""What a test needs from the machine: skipped on a laptop without it, a failure in CI.

CI (``.ci/run`` sets ``CI=true``) installs every tool and extra (``make test``); there a
missing fio, fincore or Ray means the run proves less than its green mark says.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(available: bool, why: str) -> None:
    """Skip the test with ``why`` unless ``available``; in CI, fail it instead."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{why} (CI installs it: a missing tool is a failure there)")
    pytest.skip(why)
