"""Which runs a side of a comparison means: run ids or a tag, as a person types them.

``bench compare A B`` and the dashboard's compare form take the same specs and resolve
them here, so a tag that works on the command line works in the browser.
"""

from __future__ import annotations

from fleetwise.errors import InputError
from fleetwise.models import RunStatus
from fleetwise.store import Store


def resolve_runs(store: Store, spec: str) -> list[int]:
    """``12`` or ``12,13,14`` are run ids; anything else is a tag (completed runs)."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if parts and all(p.isdigit() for p in parts):
        return [store.get_run(int(p)).id for p in parts]
    runs = [
        r.id for r in store.list_runs(tag=spec, limit=10_000) if r.status is RunStatus.COMPLETED
    ]
    if not runs:
        raise InputError(f"{spec!r}: no run with that id and no completed run with that tag")
    return sorted(runs)
