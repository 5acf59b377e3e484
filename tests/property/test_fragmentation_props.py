"""Host lists, gang placement and fragmentation over time, against brute force.

``expand_hostlist`` is checked on expressions a small compressor builds from random host
names; ``largest_gang`` against trying every gang size under the placement rule;
``history`` against evaluating the cluster at the middle of every half hour of a random
feasible schedule; ``snapshot`` against pool states worked out by hand.
"""

from __future__ import annotations

import csv
import json
import tracemalloc
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.analyze.fragmentation import (
    History,
    PoolState,
    fits,
    history,
    largest_gang,
    pool_label,
    snapshot,
)
from fleetwise.collect.importers import hostlist
from fleetwise.collect.importers.hostlist import expand_hostlist, spread
from fleetwise.collect.importers.jobs import import_jobs
from fleetwise.collect.importers.nodes import import_nodes
from fleetwise.errors import InputError
from fleetwise.models import JobRecord, NodeRecord

seeded = settings(derandomize=True, deadline=None, max_examples=80)
T0 = datetime(2024, 5, 1, tzinfo=UTC)
HORIZON = 20  # hours: every time of a generated log lies in 0..HORIZON

# -- host lists ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Host:
    prefix: str
    number: int
    width: int  # zero padding; 0 = none

    @property
    def digits(self) -> str:
        return str(self.number).zfill(self.width)

    @property
    def name(self) -> str:
        return self.prefix + self.digits


hosts_st = st.lists(
    st.builds(
        Host,
        st.sampled_from(["gpu", "n", "dgx-", "a1b", "x"]),
        st.integers(0, 120),
        st.sampled_from([0, 0, 2, 3]),
    ),
    min_size=1,
    max_size=25,
)


def _width_of(lo_digits: str) -> int:
    """Slurm's rule: a range is padded to its lower bound's width if that has a leading 0."""
    return len(lo_digits) if lo_digits.startswith("0") else 0


def _ranges(run: list[Host]) -> str:
    """``01-03,07`` for consecutive hosts of one prefix, keeping their order."""
    parts: list[str] = []
    k = 0
    while k < len(run):
        lo = run[k]
        width = _width_of(lo.digits)
        j = k
        while (
            j + 1 < len(run)
            and run[j + 1].number == run[j].number + 1
            and run[j + 1].digits == str(run[j + 1].number).zfill(width)
        ):
            j += 1
        parts.append(lo.digits if j == k else f"{lo.digits}-{run[j].digits}")
        k = j + 1
    return ",".join(parts)


def compress(hosts: list[Host], plain: list[bool]) -> str:
    """A Slurm host list naming ``hosts`` in order: runs of one prefix in brackets, and the
    hosts flagged ``plain`` written out."""
    items: list[str] = []
    k = 0
    while k < len(hosts):
        if plain[k]:
            items.append(hosts[k].name)
            k += 1
            continue
        j = k
        while j + 1 < len(hosts) and not plain[j + 1] and hosts[j + 1].prefix == hosts[k].prefix:
            j += 1
        items.append(f"{hosts[k].prefix}[{_ranges(hosts[k : j + 1])}]")
        k = j + 1
    return ", ".join(items) if len(items) % 2 else ",".join(items)


@seeded
@given(hosts_st, st.data())
def test_expand_hostlist_inverts_a_compressor(hosts: list[Host], data: st.DataObject) -> None:
    plain = data.draw(st.lists(st.booleans(), min_size=len(hosts), max_size=len(hosts)))
    expr = compress(hosts, plain)
    assert expand_hostlist(expr) == [h.name for h in hosts], expr


@seeded
@given(
    st.lists(st.integers(0, 12), min_size=1, max_size=4, unique=True),
    st.lists(st.integers(0, 12), min_size=1, max_size=4, unique=True),
)
def test_bracket_groups_give_every_combination(racks: list[int], slots: list[int]) -> None:
    expr = f"r[{','.join(map(str, racks))}]n[{','.join(map(str, slots))}]"
    assert expand_hostlist(expr) == [f"r{r}n{s}" for r in racks for s in slots]


@pytest.mark.parametrize("text", ["", "None assigned", "(null)", "  none ", "N/A"])
def test_no_hosts(text: str) -> None:
    assert expand_hostlist(text) == []


@seeded
@given(st.text(st.sampled_from("ab01-9[],  \n"), max_size=30) | st.text(max_size=30))
def test_any_text_expands_or_raises_input_error(text: str) -> None:
    try:
        hosts = expand_hostlist(text, "f.txt:3")
    except InputError as exc:
        assert "f.txt:3" in str(exc)
    else:
        assert all(h.strip() == h and h for h in hosts)


def test_a_huge_number_in_a_range_is_an_input_error() -> None:
    # int() refuses more than 4300 digits with a ValueError (Python >= 3.11).
    with pytest.raises(InputError, match=r"f\.txt:2"):
        expand_hostlist("gpu[" + "1" * 5000 + "]", "f.txt:2")


def test_too_many_hosts_is_refused_before_building_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each bracket is capped, but their product was built in full before the check: with
    # the real cap, ``a[1-1000]b[1-1000]c[1-1000]`` would build 10^9 names. Scaled down
    # here (cap 1000, 10^6 names, ~60 MB) so that a failure stays cheap.
    monkeypatch.setattr(hostlist, "MAX_HOSTS", 1000)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="more than"):
            expand_hostlist("a[1-1000]b[1-1000]")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"{peak / 1e6:.0f} MB built before refusing"


HUGE = "1" * 5000  # int() refuses more than 4300 digits with a ValueError


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("sacct.txt", f"JobID|Submit|NodeList\n1|2024-05-01T08:00:00|gpu[{HUGE}]\n", "slurm"),
        ("nodes.csv", f"node,gpus\nn1,{HUGE}\n", "csv"),
        ("nodes.csv", "node,gpus\nn1,\u00b2\n", "csv"),  # '²'.isdigit(), but int() refuses it
        ("alibaba.csv", "sn,gpu,model\nn1,\u00b2,P100\n", "alibaba"),
        ("show_node.txt", f"NodeName=n1 State=IDLE CfgTRES=gres/gpu={HUGE}\n", "scontrol"),
        ("show_node.txt", f"NodeName=n1 State=IDLE Gres=gpu:a100:{HUGE}\n", "scontrol"),
    ],
    ids=["sacct-nodelist", "csv-digits", "csv-superscript", "alibaba", "cfgtres", "gres"],
)
def test_numbers_int_refuses_are_input_errors(
    name: str, text: str, fmt: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=name.replace(".", r"\.")):
        if fmt == "slurm":
            import_jobs(path, fmt)
        else:
            import_nodes(path, fmt)


@seeded
@given(st.integers(-3, 40), st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=8))
def test_spread(gpus: int, hosts: list[str]) -> None:
    out = spread(gpus, hosts)
    if gpus <= 0 or not hosts:
        assert out == {}
        return
    assert sum(out.values()) == gpus
    assert set(out) <= set(hosts)
    assert min(out.values()) >= 1
    assert max(out.values()) - min(out.values()) <= 1


# -- placements from job logs -------------------------------------------------------------

unique_hosts_st = hosts_st.map(lambda hs: list({h.name: h for h in hs}.values()))
SACCT_HEAD = "JobID|User|Account|Partition|Submit|Start|End|State|AllocTRES|NNodes|NodeList\n"


def even(gpus: int, names: list[str]) -> dict[str, int]:
    """Slurm's gang shape: the same GPUs on each node, the first ``gpus % n`` one more."""
    base, extra = divmod(gpus, len(names))
    return {h: base + (k < extra) for k, h in enumerate(names) if base + (k < extra)}


@seeded
@given(unique_hosts_st, st.integers(0, 64), st.data())
def test_sacct_nodelist_placement(
    tmp_path_factory: pytest.TempPathFactory, hosts: list[Host], gpus: int, data: st.DataObject
) -> None:
    plain = data.draw(st.lists(st.booleans(), min_size=len(hosts), max_size=len(hosts)))
    tres = f"cpu=8,gres/gpu={gpus},node={len(hosts)}" if gpus else "cpu=8"
    row = f"7|u|acct|p|2024-05-01T08:00:00|2024-05-01T08:01:00|Unknown|RUNNING|{tres}|"
    path = tmp_path_factory.mktemp("sacct") / "sacct.txt"
    path.write_text(f"{SACCT_HEAD}{row}{len(hosts)}|{compress(hosts, plain)}\n")
    (job,) = import_jobs(path, "slurm")[1]
    assert job.gpus == gpus
    assert job.placement == (even(gpus, [h.name for h in hosts]) if gpus else {})


@seeded
@given(
    st.dictionaries(st.from_regex(r"[a-z][a-z0-9.-]{0,8}", fullmatch=True), st.integers(0, 8)),
    st.booleans(),
    st.data(),
)
def test_csv_hosts_column(
    tmp_path_factory: pytest.TempPathFactory,
    per_host: dict[str, int],
    as_hostlist: bool,
    data: st.DataObject,
) -> None:
    gpus = sum(per_host.values())
    if as_hostlist and per_host:  # a Slurm host list: the GPUs spread evenly
        hosts = data.draw(unique_hosts_st)
        cell, want = compress(hosts, [False] * len(hosts)), even(gpus, [h.name for h in hosts])
    else:  # host:gpus items
        cell = ";".join(f"{h}:{n}" for h, n in per_host.items())
        want = {h: n for h, n in per_host.items() if n}
    path = tmp_path_factory.mktemp("csv") / "jobs.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["job_id", "submit", "start", "end", "gpus", "hosts"])
        out.writerow(["j1", "2024-05-01T08:00:00Z", "2024-05-01T09:00:00Z", "", gpus, cell])
    (job,) = import_jobs(path, "csv")[1]
    assert (job.gpus, job.placement) == (gpus, want)


@seeded
@given(
    st.lists(
        st.tuples(st.sampled_from(["m1", "m2", "10.0.0.7", ""]), st.integers(0, 8)), max_size=5
    )
)
def test_philly_detail_placement(
    tmp_path_factory: pytest.TempPathFactory, detail: list[tuple[str, int]]
) -> None:
    attempt = {
        "start_time": "2017-10-03 00:00:00",
        "end_time": "2017-10-03 01:00:00",
        "detail": [{"ip": ip, "gpus": [f"gpu{k}" for k in range(n)]} for ip, n in detail],
    }
    first = {"start_time": "2017-10-02 23:00:00", "end_time": "2017-10-02 23:30:00", "detail": []}
    doc = [{"jobid": "j1", "submitted_time": "2017-10-02 22:00:00", "attempts": [first, attempt]}]
    path = tmp_path_factory.mktemp("philly") / "philly.json"
    path.write_text(json.dumps(doc))
    (job,) = import_jobs(path, "philly")[1]
    want: dict[str, int] = defaultdict(int)
    for ip, n in detail:
        if ip and n:
            want[ip] += n
    assert job.gpus == sum(n for _, n in detail)
    assert job.placement == want


@pytest.mark.parametrize(
    "attempts",
    [
        [1],  # an attempt that is not an object
        [{"start_time": "2017-10-03 00:00:00", "detail": [{"ip": "m1", "gpus": 4}]}],
        [{"start_time": "2017-10-03 00:00:00", "detail": [{"ip": "m1", "gpus": "gpu0"}]}],
    ],
    ids=["attempt-not-object", "gpus-int", "gpus-string"],
)
def test_philly_malformed_attempts_are_input_errors(attempts: list[object], tmp_path: Path) -> None:
    path = tmp_path / "philly.json"
    doc = [{"jobid": "j1", "submitted_time": "2017-10-03 00:00:00", "attempts": attempts}]
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"philly\.json"):
        import_jobs(path, "philly")


# -- the largest gang -----------------------------------------------------------------------


def placeable(free: list[int], cap: int, g: int) -> bool:
    """The rule, tried directly: ``g <= cap`` on one node; else ``g // cap`` wholly free
    nodes plus, for the rest, one more node with that many free."""
    if g <= cap:
        return any(f >= g for f in free)
    whole, rest = divmod(g, cap)
    for chosen in combinations(range(len(free)), whole):
        if all(free[i] == cap for i in chosen) and (
            rest == 0 or any(free[i] >= rest for i in range(len(free)) if i not in chosen)
        ):
            return True
    return False


def brute_largest_gang(free: list[int], cap: int) -> int:
    return max((g for g in range(1, sum(free) + 1) if placeable(free, cap, g)), default=0)


@st.composite
def free_counts(draw: st.DrawFn) -> tuple[list[int], int]:
    cap = draw(st.sampled_from([1, 2, 3, 4, 8]))
    return draw(st.lists(st.integers(0, cap), max_size=6)), cap


@seeded
@given(free_counts())
def test_largest_gang_is_brute_force(case: tuple[list[int], int]) -> None:
    free, cap = case
    gang, whole, rest = largest_gang(free, cap)
    assert gang == brute_largest_gang(free, cap)
    assert gang == whole * cap + rest and 0 <= rest < cap
    for g in range(1, sum(free) + 2):
        assert fits(free, cap, g) == placeable(free, cap, g)
        if fits(free, cap, g):
            assert fits(free, cap, g - 1)


# -- clusters and schedules -------------------------------------------------------------------


@dataclass
class Case:
    nodes: list[NodeRecord]
    jobs: list[JobRecord]


def at_hour(h: float) -> datetime:
    return T0 + timedelta(hours=h)


@st.composite
def clusters(draw: st.DrawFn) -> Case:
    """1-2 pools of 1-4 nodes; jobs placed greedily where they fit for their whole run,
    some never started (pending to the end of the log, or cancelled), some on a host
    missing from the inventory."""
    shapes = draw(
        st.lists(
            st.tuples(st.sampled_from(["a100", "h100", ""]), st.sampled_from([1, 2, 4, 8])),
            min_size=1,
            max_size=2,
            unique=True,
        )
    )
    nodes: list[NodeRecord] = []
    pools: list[list[NodeRecord]] = []
    for p, (model, cap) in enumerate(shapes):
        members = [
            NodeRecord(name=f"p{p}n{k}", gpus=cap, model=model, available=draw(st.booleans()))
            for k in range(draw(st.integers(1, 4)))
        ]
        pools.append(members)
        nodes += members
    if draw(st.booleans()):
        nodes.append(NodeRecord(name="login", gpus=0))
    biggest = max(m[0].gpus * len(m) for m in pools)
    busy: dict[str, list[tuple[int, int, int]]] = defaultdict(list)  # host: (from, to, gpus)

    def free_during(node: NodeRecord, a: int, b: int) -> int:
        return min(
            (node.gpus - sum(n for s, e, n in busy[node.name] if s <= h < e) for h in range(a, b)),
            default=node.gpus,
        )

    jobs: list[JobRecord] = []
    for k in range(draw(st.integers(1, 10))):
        submit = draw(st.integers(0, HORIZON))
        kind = draw(st.sampled_from(["run"] * 4 + ["open", "pending", "cancelled", "ghost"]))
        pool = draw(st.sampled_from(pools))
        small = st.integers(1, pool[0].gpus)  # mostly jobs of at most a node: they fragment
        gpus = draw(small | small | st.integers(1, biggest + 2))
        start = end = None
        placement: dict[str, int] = {}
        if kind in {"run", "open", "ghost"}:
            start = draw(st.integers(submit, HORIZON))
            end = None if kind == "open" else draw(st.integers(start, HORIZON))
            until = HORIZON + 1 if end is None else end
            order = draw(st.permutations(pool))
            left = gpus
            for spread_out in (True, False):  # a random share per node, then fill up
                for node in order:
                    room = min(left, free_during(node, start, until) - placement.get(node.name, 0))
                    take = draw(st.integers(0, room)) if spread_out and room > 0 else room
                    if take > 0:
                        placement[node.name] = placement.get(node.name, 0) + take
                        left -= take
            if kind == "ghost":
                placement = {"ghost01": gpus}
            elif left:  # does not fit for its whole run: it never starts
                start = end = None
                placement = {}
            else:
                for host, n in placement.items():
                    busy[host].append((start, until, n))
        elif kind == "cancelled":
            end = draw(st.integers(submit, HORIZON))
        jobs.append(
            JobRecord(
                job_id=str(k),
                submit_time=at_hour(submit),
                start_time=None if start is None else at_hour(start),
                end_time=None if end is None else at_hour(end),
                gpus=gpus,
                placement=placement,
            )
        )
    return Case(nodes, jobs)


def hours_of(t: datetime) -> float:
    return (t - T0).total_seconds() / 3600


def used_at(case: Case, t: float, end_of_log: float) -> dict[str, int]:
    """GPUs taken per inventory host by the jobs running at ``t`` (hours)."""
    names = {n.name for n in case.nodes}
    used: dict[str, int] = defaultdict(int)
    for j in case.jobs:
        if j.start_time is None:
            continue
        end = end_of_log if j.end_time is None else hours_of(j.end_time)
        if hours_of(j.start_time) <= t < end:
            for host, n in j.placement.items():
                if host in names:
                    used[host] += n
    return used


def waits_until(j: JobRecord, end_of_log: float) -> float:
    if j.start_time is not None:
        return hours_of(j.start_time)
    return end_of_log if j.end_time is None else hours_of(j.end_time)


@dataclass
class Brute:
    stranded: float = 0.0
    blocked_stranded: float = 0.0
    blocked_hours: float = 0.0
    blocked_job_hours: float = 0.0
    blocked_gpu_hours: float = 0.0
    free: float = 0.0
    gang: float = 0.0


def brute_history(case: Case) -> tuple[Brute, float, float, set[str]]:
    """Every pool state at the middle of each half hour, integrated; all nodes count as up."""
    gpu_jobs = [j for j in case.jobs if j.gpus > 0]
    times = [hours_of(t) for j in gpu_jobs for t in (j.submit_time, j.start_time, j.end_time) if t]
    start, end = min(hours_of(j.submit_time) for j in gpu_jobs), max(times)
    pools: dict[tuple[str, int], list[NodeRecord]] = defaultdict(list)
    for n in case.nodes:
        if n.gpus > 0:
            pools[(n.model, n.gpus)].append(n)
    largest_pool = max(cap * len(m) for (_, cap), m in pools.items())
    out, blocked_ids, step = Brute(), set(), 0.5
    t = start + step / 2
    while t < end:
        used = used_at(case, t, end)
        free = stranded = gang = 0
        for (_, cap), members in pools.items():
            node_free = [cap - min(used.get(n.name, 0), cap) for n in members]
            free += sum(node_free)
            stranded += sum(
                f for f, n in zip(node_free, members, strict=True) if used.get(n.name, 0) > 0
            )
            gang = max(gang, brute_largest_gang(node_free, cap))
        blocked = [
            j
            for j in gpu_jobs
            if hours_of(j.submit_time) <= t < waits_until(j, end)
            and gang < j.gpus <= free
            and j.gpus <= largest_pool
        ]
        blocked_ids |= {j.job_id for j in blocked}
        out.stranded += stranded * step
        out.free += free * step
        out.gang += gang * step
        if blocked:
            out.blocked_hours += step
            out.blocked_stranded += stranded * step
            out.blocked_job_hours += len(blocked) * step
            out.blocked_gpu_hours += sum(j.gpus for j in blocked) * step
        t += step
    return out, start, end, blocked_ids


@seeded
@given(clusters())
def test_history_is_brute_force(case: Case) -> None:
    got = history(case.nodes, case.jobs)
    started = [j for j in case.jobs if j.start_time is not None]
    if not started:
        assert isinstance(got, str) and "placements known for 0 of 0" in got
        return
    assert isinstance(got, History), got
    want, start, end, blocked = brute_history(case)
    span = end - start
    names = {n.name for n in case.nodes if n.gpus > 0}
    assert (got.start, got.end) == (at_hour(start), at_hour(end))
    assert got.capacity_gpus == sum(n.gpus for n in case.nodes)
    assert got.started_gpu_jobs == got.placed_jobs == len(started)
    assert got.unknown_host_jobs == sum(1 for j in started if set(j.placement) - names)
    assert got.stranded_gpu_hours == pytest.approx(want.stranded)
    assert got.blocked_stranded_gpu_hours == pytest.approx(want.blocked_stranded)
    assert got.blocked_hours == pytest.approx(want.blocked_hours)
    assert got.blocked_jobs == len(blocked)
    assert got.blocked_job_hours == pytest.approx(want.blocked_job_hours)
    assert got.blocked_gpu_hours == pytest.approx(want.blocked_gpu_hours)
    assert got.mean_free_gpus == pytest.approx(want.free / span if span else 0.0)
    assert got.mean_largest_gang == pytest.approx(want.gang / span if span else 0.0)


def test_history_needs_placements() -> None:
    nodes = [NodeRecord(name="n1", gpus=8)]
    job = JobRecord(job_id="1", submit_time=T0, start_time=T0, end_time=at_hour(1), gpus=8)
    got = history(nodes, [job])
    assert isinstance(got, str) and "placements known for 0 of 1" in got
    no_gpus = history([NodeRecord(name="cpu", gpus=0)], [job])
    assert isinstance(no_gpus, str) and no_gpus.startswith("no nodes with GPUs")


def test_history_keeps_to_its_span_when_a_job_starts_before_any_submit() -> None:
    # Clock skew: started at 0 h, submitted at 5 h, the log ends at 6 h. History reports
    # start=5 h (1 hour) but integrated from 0 h: 24 stranded GPU-hours on 8 GPUs.
    nodes = [NodeRecord(name="n1", gpus=8)]
    job = JobRecord(
        job_id="a",
        submit_time=at_hour(5),
        start_time=at_hour(0),
        end_time=at_hour(6),
        gpus=4,
        placement={"n1": 4},
    )
    got = history(nodes, [job])
    assert isinstance(got, History)
    assert got.stranded_gpu_hours <= got.capacity_gpus * got.hours


def hand_pools(case: Case, used: dict[str, int]) -> list[PoolState]:
    pools: dict[tuple[str, int], list[NodeRecord]] = defaultdict(list)
    for n in case.nodes:
        if n.gpus > 0:
            pools[(n.model, n.gpus)].append(n)
    out = []
    for (model, cap), members in pools.items():
        up = [n for n in members if n.available]
        taken = [min(used.get(n.name, 0), cap) for n in up]
        free = [cap - t for t in taken]
        whole = sum(1 for f in free if f == cap)
        rest = max((f for f in free if f < cap), default=0)
        out.append(
            PoolState(
                pool=pool_label(model, cap),
                model=model,
                gpus_per_node=cap,
                nodes=len(members),
                unavailable_nodes=len(members) - len(up),
                gpus=cap * len(up),
                used=sum(taken),
                free=sum(free),
                whole_free_nodes=whole,
                stranded=sum(f for f, t in zip(free, taken, strict=True) if t > 0),
                largest_on_one_node=max(free, default=0),
                largest_gang=brute_largest_gang(free, cap),
                gang_whole_nodes=whole,
                gang_remainder=rest,
            )
        )
    return sorted(out, key=lambda s: (-s.gpus, s.pool))


@seeded
@given(clusters(), st.integers(0, 2 * HORIZON + 2))
def test_snapshot_is_worked_out_by_hand(case: Case, half_hours: int) -> None:
    t = half_hours / 2
    snap = snapshot(case.nodes, case.jobs, at_hour(t))
    used = used_at(case, t, float("inf"))  # at a given time, an open job still runs
    pools = hand_pools(case, used)
    assert snap.at == at_hour(t)
    assert snap.pools == pools
    waiting = [
        j
        for j in case.jobs
        if j.gpus > 0 and hours_of(j.submit_time) <= t < waits_until(j, float("inf"))
    ]
    free = sum(p.free for p in pools)
    gang = max(p.largest_gang for p in pools)
    up_capacity = max(p.gpus for p in pools)
    assert snap.waiting_jobs == len(waiting)
    assert snap.waiting_gpus == sum(j.gpus for j in waiting)
    assert snap.blocked_jobs == sum(1 for j in waiting if gang < j.gpus <= min(free, up_capacity))
    running_ghost = any(
        "ghost01" in j.placement
        and j.start_time
        and hours_of(j.start_time) <= t
        and (j.end_time is None or t < hours_of(j.end_time))
        for j in case.jobs
    )
    assert snap.unknown_hosts == (["ghost01"] if running_ghost else [])


@seeded
@given(clusters())
def test_snapshot_defaults_to_the_end_of_the_log(case: Case) -> None:
    end = max(t for j in case.jobs for t in (j.submit_time, j.start_time, j.end_time) if t)
    assert snapshot(case.nodes, case.jobs) == snapshot(case.nodes, case.jobs, end)
