"""What ``plan remove``, ``kpi remove`` and ``analysis remove`` share: who and why, and
how a removal is shown."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from fleetwise.errors import InputError
from fleetwise.models import Removal
from fleetwise.present.cli.common import print_json, stdout

WhyOption = Annotated[str, typer.Option("--why", help="Why it is removed (kept in the log).")]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who removes it (name or role; default: your login name)."),
]


def who(by: str | None) -> str:
    """``--by``, or the login name when it is not given."""
    if by is None:
        try:
            by = getpass.getuser()
        except (KeyError, OSError):  # no login name (a container without a passwd entry)
            by = ""
    if not by.strip():
        raise InputError("--by: say who removes it (a name or a role)")
    return by.strip()


def show_removal(removal: Removal, json_out: bool) -> None:
    """One line for what went, one per action kept whose links were cut."""
    if json_out:
        print_json({"schema_version": 1, **removal.model_dump(mode="json")})
        return
    d = removal.decision
    what = {"action": "action", "kpi": "KPI", "analysis": "analysis"}[d.subject]
    ref = d.subject_name if d.subject == "kpi" else f"{d.subject_id} ({d.subject_name})"
    found = removal.finding_ids
    with_findings = (
        f" and its {len(found)} finding{'s' if len(found) != 1 else ''}"
        if d.subject == "analysis"
        else ""
    )
    reason = f": {d.note}" if d.note else " (no reason given)"
    out = stdout()
    out.print(f"removed {what} {ref}{with_findings}; logged as removed by {d.by}{reason}")
    for a in removal.affected:
        out.print(f"  action {a.id} ({a.title}) {a.note}")
