"""``bench compare``, ``bench series``, ``bench history`` and ``regressions``."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group

from fleetwise.analyze.changepoints import ChangePointConfig
from fleetwise.analyze.compare import compare_runs, history_for
from fleetwise.analyze.regressions import (
    SeriesChange,
    csv_series_changes,
    gate,
    left_out,
)
from fleetwise.checked import Magnitude, Moment, PValue, WindowPoints
from fleetwise.collect.importers import otava_csv
from fleetwise.errors import InputError
from fleetwise.models import Direction, ResultRecord, Series
from fleetwise.present.cli.common import (
    DbOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.present.cli.render_history import (
    changes_view,
    comparison_view,
    history_table,
    left_out_text,
    series_table,
)
from fleetwise.present.run_specs import resolve_runs
from fleetwise.store import Store
from fleetwise.timeutil import as_utc
from fleetwise.usecases.infra import series_changes

#: Exit code when ``--fail-on`` finds what it gates on (2 stays "bad input").
GATE_EXIT = 3


def _results(store: Store, runs: list[int]) -> list[ResultRecord]:
    return [r for run in runs for r in store.results(run)]


class AggregateOpt(StrEnum):
    geomean = "geomean"
    mlperf = "mlperf"


def compare_cmd(
    a: Annotated[str, typer.Argument(help="Run id, comma-separated run ids, or a tag.")],
    b: Annotated[str, typer.Argument(help="Run id, comma-separated run ids, or a tag.")],
    db: DbOption = None,
    json_out: JsonOption = False,
    aggregate: Annotated[
        AggregateOpt, typer.Option(help="Per side: geometric mean of run medians, or MLPerf's.")
    ] = AggregateOpt.geomean,
    use_history: Annotated[
        bool, typer.Option("--history/--no-history", help="Use other runs of each series.")
    ] = True,
) -> None:
    """Did B change against A? Ratio with 95% CI, verdict and effect size per result."""
    with open_store(db, must_exist=True) as store:
        rows, ra, rb = _compare(store, a, b, aggregate, use_history)
    if json_out:
        docs = [{**asdict(c), "change": c.change} for c in rows]
        print_json({"schema_version": 1, "a_runs": ra, "b_runs": rb, "comparisons": docs})
        return
    stdout().print(comparison_view(rows, a, b))


def _compare(
    store: Store, a: str, b: str, aggregate: AggregateOpt, use_history: bool
) -> tuple[list[Any], list[int], list[int]]:
    ra, rb = resolve_runs(store, a), resolve_runs(store, b)
    if set(ra) & set(rb):
        raise InputError(f"A and B share runs {sorted(set(ra) & set(rb))}")
    history = history_for(store.series(), ra, rb) if use_history else None
    times = {run: store.get_run(run).started_at for run in [*ra, *rb]}
    rows = compare_runs(
        _results(store, ra),
        _results(store, rb),
        history=history,
        aggregate=aggregate.value,
        run_times=times,
    )
    if not rows:
        raise InputError(f"{a} and {b} have no successful result in common")
    return rows, ra, rb


def series_cmd(
    prefix: Annotated[
        str | None, typer.Argument(help="Series id prefix, e.g. compute.gemm")
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """List the series in the store (benchmark:metric:params:hardware) and their lengths."""
    with open_store(db, must_exist=True) as store:
        found = store.series(prefix)
    if json_out:
        print_json({"schema_version": 1, "series": [_series_doc(s) for s in found]})
        return
    stdout().print(series_table(found))


def _series_doc(s: Series) -> dict[str, Any]:
    return {"id": s.key.id, **s.key.model_dump(mode="json"), "points": len(s.points)}


def _config(
    max_pvalue: float, min_magnitude: float, otava: bool, window: int | None
) -> ChangePointConfig:
    """The options as given, in either mode: ``--otava-compatible`` changes the algorithm
    (and the default window, 50), never which options are honoured."""
    return ChangePointConfig(
        max_pvalue=max_pvalue, min_magnitude=min_magnitude, window=window, otava_compatible=otava
    )


MaxP = Annotated[
    float, typer.Option(help="Significance level of a change point.", callback=checked(PValue))
]
MinMag = Annotated[
    float,
    typer.Option(help="Ignore changes smaller than this (0.02 = 2%).", callback=checked(Magnitude)),
]
Otava = Annotated[
    bool,
    typer.Option(help="Apache Otava 0.8's algorithm (with the p, magnitude and window given)."),
]
Window = Annotated[
    int | None,
    typer.Option(
        help="Points per detection window (Otava's --window): default 64, or 50 with "
        "--otava-compatible.",
        callback=checked(WindowPoints),
    ),
]


IncludeUnhealthy = Annotated[
    bool,
    typer.Option(
        "--include-unhealthy",
        help="Keep results taken on an unhealthy or throttled host (XID, ECC, GPU or CPU "
        "throttling, CPU steal) in change-point detection.",
    ),
]


def _one_series(store: Store, spec: str) -> Series:
    found = store.series(spec)
    exact = [s for s in found if s.key.id == spec]
    if len(exact) == 1:
        return exact[0]
    if len(found) == 1:
        return found[0]
    if not found:
        raise InputError(f"no series {spec!r}; list them with: fleetwise bench series")
    ids = ", ".join(s.key.id for s in found[:5])
    raise InputError(f"{spec!r} matches {len(found)} series ({ids}, ...): give more of the id")


def history_cmd(
    series: Annotated[str, typer.Argument(help="A series id or an unambiguous prefix.")],
    db: DbOption = None,
    json_out: JsonOption = False,
    max_pvalue: MaxP = 0.001,
    min_magnitude: MinMag = 0.0,
    otava_compatible: Otava = False,
    window: Window = None,
    include_unhealthy: IncludeUnhealthy = False,
) -> None:
    """One series over runs, with its change points marked."""
    config = _config(max_pvalue, min_magnitude, otava_compatible, window)
    with open_store(db, must_exist=True) as store:
        s = _one_series(store, series)
        changes = series_changes(store, [s], config, include_unhealthy=include_unhealthy)
    unhealthy = left_out([s])
    if json_out:
        print_json(
            {
                "schema_version": 1,
                "series": _series_doc(s),
                "points": [p.model_dump(mode="json") for p in s.points],
                "change_points": [_change_doc(c) for c in changes],
                "unhealthy_points": unhealthy,
                "include_unhealthy": include_unhealthy,
            }
        )
        return
    table = history_table(s, changes, include_unhealthy=include_unhealthy)
    note = left_out_text(unhealthy, include_unhealthy)
    stdout().print(Group(table, note) if note else table)


def _change_doc(c: SeriesChange) -> dict[str, Any]:
    doc = asdict(c)
    doc["time"] = c.time.isoformat()
    doc["changed"] = {k: list(v) for k, v in c.changed.items()}
    return doc


def changes_csv(changes: list[SeriesChange]) -> str:
    cols = [
        "series",
        "index",
        "time",
        "before",
        "after",
        "mean_before",
        "std_before",
        "mean_after",
        "std_after",
        "change",
        "pvalue",
        "kind",
        "changed",
        "infra",
    ]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for c in changes:
        doc = _change_doc(c)
        doc["changed"] = "; ".join(f"{k}: {a} -> {b}" for k, (a, b) in c.changed.items())
        doc["infra"] = "; ".join(c.infra)
        w.writerow({k: doc[k] for k in cols})
    return buf.getvalue()


class FailOn(StrEnum):
    regression = "regression"
    any = "any"


class OutFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class DirectionOpt(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


def regressions_cmd(
    series: Annotated[
        str | None, typer.Option("--series", "-s", help="Only series whose id starts so.")
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Analyse an Otava-format CSV, not the store.")
    ] = None,
    direction: Annotated[
        DirectionOpt | None,
        typer.Option(help="For --csv: is higher better? (store series know their own)."),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Only change points at or after this time (UTC).", callback=checked(Moment)
        ),
    ] = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(help=f"Exit {GATE_EXIT} if a regression (or any change) is found."),
    ] = None,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f")] = OutFormat.table,
    json_out: JsonOption = False,
    max_pvalue: MaxP = 0.001,
    min_magnitude: MinMag = 0.0,
    otava_compatible: Otava = False,
    window: Window = None,
    include_unhealthy: IncludeUnhealthy = False,
    db: DbOption = None,
) -> None:
    """Find change points in benchmark history (the store's series, or a CSV file)."""
    config = _config(max_pvalue, min_magnitude, otava_compatible, window)
    if csv_file is not None:
        if fail_on is FailOn.regression and direction is None:
            raise InputError(f"{csv_file}: say --direction higher|lower to gate on regressions")
        parsed = otava_csv.parse(csv_file)
        chosen = [c for c in parsed if series is None or c.name.startswith(series)]
        d: Direction | None = None
        if direction is DirectionOpt.HIGHER:
            d = "higher"
        elif direction is DirectionOpt.LOWER:
            d = "lower"
        changes = [ch for c in chosen for ch in csv_series_changes(c, config, d)]
        scanned = len(chosen)
        unhealthy: dict[str, int] = {}
    else:
        with open_store(db, must_exist=True) as store:
            found = store.series(series)
            changes = series_changes(store, found, config, include_unhealthy=include_unhealthy)
        scanned = len(found)
        unhealthy = left_out(found)
    if since is not None:
        cut = as_utc(since)
        changes = [c for c in changes if c.time >= cut]
    if json_out or fmt is OutFormat.json:
        print_json(
            {
                "schema_version": 1,
                "scanned": scanned,
                "change_points": [_change_doc(c) for c in changes],
                "unhealthy_points": unhealthy,
                "include_unhealthy": include_unhealthy,
            }
        )
    elif fmt is OutFormat.csv:
        typer.echo(changes_csv(changes), nl=False)
    else:
        note = left_out_text(unhealthy, include_unhealthy)
        view = changes_view(changes, scanned)
        stdout().print(Group(view, note) if note else view)
    if gate(changes, fail_on.value if fail_on else None):
        raise typer.Exit(GATE_EXIT)
