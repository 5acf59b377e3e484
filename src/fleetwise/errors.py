"""The one exception tree of fleetwise.

::

    FleetwiseError                 root: catch this to catch everything fleetwise raises
     +-- InputError                 a user-supplied file or argument is wrong (CLI exit 2)
     |    +-- SuiteError            a suite YAML file is malformed or names unknown keys
     +-- StoreError                 the results store cannot be opened, migrated or written
     +-- BenchmarkError             a benchmark could not run here (missing device, tool...)
     +-- MissingDependencyError     an optional extra is not installed (message has the hint)

Only the presentation layer (CLI, web app) turns these into messages and exit codes;
library code raises and never prints or exits.
"""

from __future__ import annotations


class FleetwiseError(Exception):
    """Root of every error fleetwise raises on purpose."""

    exit_code = 1


class InputError(FleetwiseError):
    """A file or argument given by the user is wrong; the message names it."""

    exit_code = 2


class SuiteError(InputError):
    """A suite file is malformed: the message names the file, the line and the key."""


class StoreError(FleetwiseError):
    """The results store cannot be opened, migrated or written."""


class BenchmarkError(FleetwiseError):
    """A benchmark cannot run in this environment (e.g. it needs CUDA or fio)."""


class MissingDependencyError(FleetwiseError):
    """An optional dependency is missing; the message says which extra to install."""

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(f"{module} is not installed: pip install 'fleetwise[{extra}]'")
