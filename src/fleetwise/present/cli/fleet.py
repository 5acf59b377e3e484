"""``fleetwise fleet init|show``: the fleet profile, the one home of every assumption."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fleetwise.errors import InputError
from fleetwise.plan.fleet import FleetProfile, default_profile, dump_profile, load_profile
from fleetwise.present.cli.common import (
    DbOption,
    FleetOption,
    JsonOption,
    open_store,
    print_json,
    stdout,
)
from fleetwise.usecases.fleet import draft_profile, profile_for

app = typer.Typer(
    help="The fleet profile (fleet.yaml): pools, prices, teams, what traces represent.",
    no_args_is_help=True,
)


@app.command("init")
def init_cmd(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")] = Path(
        "fleet.yaml"
    ),
    from_store: Annotated[
        bool, typer.Option("--from-store", help="Draft pools and teams from the stored nodes/jobs.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    db: DbOption = None,
) -> None:
    """Write a fleet profile to edit: the default one, or drafted from the store."""
    if output.exists() and not force:
        raise InputError(f"{output}: exists; pass --force to overwrite it")
    if not output.parent.is_dir():
        raise InputError(f"{output}: folder {output.parent} does not exist")
    notes: list[str] = []
    if from_store:
        with open_store(db, must_exist=True) as store:
            profile, notes = draft_profile(store, datetime.now(UTC).date())
    else:
        profile = default_profile()
    header = (
        "# fleetwise fleet profile: every assumption behind a GPU-hour or a dollar.\n"
        "# Check each figure; docs/ledger.md says what each one feeds.\n"
        + "".join(f"# note: {n}\n" for n in notes)
    )
    try:
        output.write_text(header + dump_profile(profile))
    except OSError as exc:
        raise InputError(f"{output}: cannot write: {exc.strerror or exc}") from exc
    load_profile(output)  # what was written reads back
    out = stdout()
    out.print(f"wrote {output}: {profile.total_gpus:,} GPUs in {len(profile.pools)} pool(s)")
    for n in notes:
        out.print(f"  note: {n}")


def profile_table(p: FleetProfile) -> Table:
    t = Table(title=p.describe(), title_justify="left")
    for col in ("pool", "GPUs", "GPUs/node", "$/GPU-h", "price source", "as of"):
        t.add_column(col, justify="right" if col in ("GPUs", "GPUs/node", "$/GPU-h") else "left")
    for pool in p.pools:
        t.add_row(
            pool.name,
            f"{pool.gpus:,}",
            str(pool.gpus_per_node or "-"),
            f"${pool.usd_per_gpu_hour:,.2f}",
            pool.price_source,
            pool.price_date.isoformat(),
        )
    return t


@app.command("show")
def show_cmd(fleet: FleetOption = None, json_out: JsonOption = False) -> None:
    """The profile in force (--fleet, $FLEETWISE_FLEET, ./fleet.yaml or the default)."""
    p = profile_for(fleet)
    if json_out:
        print_json({"schema_version": 1, **p.model_dump(mode="json")})
        return
    out = stdout()
    out.print(profile_table(p))
    out.print(
        f"engineer: ${p.engineer_loaded_usd_per_year:,.0f}/yr loaded "
        f"(${p.usd_per_person_day:,.0f}/person-day; {p.engineer_source}); "
        f"discount rate {p.discount_rate:.0%}, horizon {p.horizon_years} yr"
    )
    out.print(f"teams: {', '.join(t.name for t in p.teams) or '-'}")
    if not p.workloads:
        out.print("workloads: none (traces and benchmark hosts speak for themselves only)")
    for w in p.workloads:
        r = w.represents
        out.print(
            f"workload {w.match}: represents {r.gpus:,} GPUs"
            + (f" of team {r.team}" if r.team else "")
            + (f" in pool {r.pool}" if r.pool else "")
        )
    s = p.severity
    out.print(
        f"severity (share of capacity): critical >= {s.critical:.1%}, high >= {s.high:.1%}, "
        f"medium >= {s.medium:.1%}, low >= {s.low:.2%}"
    )
