"""The fleet profile in force, what a source represents, and a draft from the store."""

from __future__ import annotations

import os
from collections import Counter
from datetime import date
from pathlib import Path

from fleetwise.analyze.findings import Represented
from fleetwise.analyze.fragmentation import latest_nodes
from fleetwise.plan.fleet import FleetProfile, Pool, Team, default_profile, resolve_profile
from fleetwise.store import Store

#: The environment variable naming the fleet profile (``--fleet`` wins over it).
ENV = "FLEETWISE_FLEET"


def profile_for(explicit: Path | None = None) -> FleetProfile:
    """``--fleet``, else ``$FLEETWISE_FLEET``, else ``./fleet.yaml``, else the default."""
    return resolve_profile(explicit, os.environ.get(ENV), Path.cwd())


def represented(profile: FleetProfile, source: str) -> Represented | None:
    """What the evidence ``source`` stands for in the fleet, priced; None: itself only."""
    w = profile.workload_for(source)
    if w is None:
        return None
    rep = w.represents
    team = f"team {rep.team}, " if rep.team else ""
    return Represented(
        gpus=rep.gpus,
        usd_per_gpu_hour=profile.price(rep.pool),
        hours_per_year=profile.hours_per_year,
        label=f"{team}{rep.gpus:,} GPUs ({w.match}, {profile.path or 'default profile'})",
    )


def draft_profile(store: Store, today: date) -> tuple[FleetProfile, list[str]]:
    """A profile drafted from the stored nodes (pools by GPU model) and jobs (teams), with
    the default's prices and money figures, and notes on what a person must check."""
    base = default_profile()
    notes: list[str] = []
    nodes = list(latest_nodes(store.nodes()).values())
    gpu_nodes = [n for n in nodes if n.gpus > 0]
    price = base.pools[0]
    pools: list[Pool] = []
    if gpu_nodes:
        by_model: dict[str, list[int]] = {}
        for n in gpu_nodes:
            by_model.setdefault(n.model or "unknown", []).append(n.gpus)
        for model, counts in sorted(by_model.items()):
            per_node = Counter(counts).most_common(1)[0][0]
            pools.append(
                Pool(
                    name=model,
                    gpus=sum(counts),
                    gpus_per_node=per_node,
                    usd_per_gpu_hour=price.usd_per_gpu_hour,
                    price_source=f"default, not yours: {price.price_source}",
                    price_date=price.price_date,
                )
            )
        notes.append(
            f"pools from {len(gpu_nodes):,} stored GPU nodes; every price is the default's: "
            "replace each with yours (and its source and date)"
        )
    else:
        peak = _peak_allocation(store)
        if peak:
            per_node = price.gpus_per_node or 8
            gpus = -(-peak // per_node) * per_node
            pools.append(
                price.model_copy(
                    update={
                        "name": "from-jobs",
                        "gpus": gpus,
                        "price_source": f"default, not yours: {price.price_source}",
                    }
                )
            )
            notes.append(
                f"no nodes stored: one pool of {gpus:,} GPUs, the jobs' peak concurrent "
                f"allocation ({peak:,} GPUs) rounded up to whole {per_node}-GPU nodes; "
                "import a node list (fleetwise cluster nodes FILE) for the real inventory"
            )
        else:
            pools = list(base.pools)
            notes.append("no nodes or jobs stored: the default pools; write your own")
    with store.jobs_data().connect() as con:
        found = con.execute("SELECT DISTINCT team FROM jobs WHERE team <> ''").fetchall()
    teams = sorted(t for (t,) in found)
    profile = base.model_copy(
        update={
            "name": f"drafted from {store.display_url} on {today.isoformat()}",
            "pools": pools,
            "teams": [Team(name=t) for t in teams],
        }
    )
    return FleetProfile.model_validate(profile.model_dump()), notes


def _peak_allocation(store: Store) -> int:
    """The most GPUs the stored jobs held at once (a sweep over their starts and ends, an
    end before a start at the same instant), as one query over the columnar store."""
    with store.jobs_data().connect() as con:
        row = con.execute(
            "WITH ran AS (SELECT * FROM jobs WHERE gpus > 0 AND start_time IS NOT NULL), "
            "e AS (SELECT epoch(start_time) AS t, gpus AS d FROM ran UNION ALL "
            "SELECT epoch(end_time), -gpus FROM ran WHERE end_time IS NOT NULL) "
            "SELECT max(level) FROM (SELECT sum(d) OVER (ORDER BY t, d "
            "ROWS UNBOUNDED PRECEDING) AS level FROM e)"
        ).fetchall()[0]
    return max(int(row[0]), 0) if row and row[0] is not None else 0
