"""Run a suite on every node (or every GPU) of an existing Ray cluster.

One Ray actor per target is pinned to its node (``NodeAffinitySchedulingStrategy``, not
soft: a case never silently moves to another node), asks for one CPU, and for one GPU with
``per="gpu"`` - Ray then sets ``CUDA_VISIBLE_DEVICES`` so that no two targets share a GPU.
Inside the actor each case runs as it does locally: in a fresh subprocess with its
timeout (``executors/local.py``). The actor captures its own node's fingerprint, so each
node's results carry their own environment.

Each target is a run of its own (executor ``ray``), all of them tagged with one group tag
(``ray:<id>``) so that they can be compared node against node. Results are committed
as each case finishes, on whichever node it finishes first; a node lost mid-run leaves its
remaining cases stored as failed with the reason.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from fleetwise.collect import fingerprint as fpmod
from fleetwise.collect import system_state as sysstate
from fleetwise.collect.executors import local
from fleetwise.collect.executors.fanout import connect_ray
from fleetwise.collect.runner import (
    RunInterrupted,
    RunObserver,
    RunOutcome,
    RunStore,
    outcome_to_results,
)
from fleetwise.collect.suite import Case, Suite
from fleetwise.errors import InputError
from fleetwise.models import RunStatus

Per = Literal["node", "gpu"]


@dataclass(frozen=True)
class Target:
    """Where one run goes: a node, or one GPU slot of a node."""

    node_id: str
    address: str
    slot: int | None  # GPU slot on the node with per="gpu"

    @property
    def label(self) -> str:
        where = f"{self.address}/{self.node_id[:8]}"
        return where if self.slot is None else f"{where}/gpu{self.slot}"


def targets(nodes: Sequence[dict[str, Any]], per: Per) -> list[Target]:
    """The targets of a run from ``ray.nodes()``: alive nodes with a CPU; with
    ``per="gpu"``, one per GPU."""
    out: list[Target] = []
    for n in sorted(nodes, key=lambda n: str(n.get("NodeID", ""))):
        res = n.get("Resources", {})
        if not n.get("Alive") or res.get("CPU", 0) < 1:
            continue
        node_id, address = str(n["NodeID"]), str(n.get("NodeManagerAddress", ""))
        if per == "node":
            out.append(Target(node_id, address, None))
        else:
            out += [Target(node_id, address, i) for i in range(int(res.get("GPU", 0)))]
    if not out:
        what = "GPUs" if per == "gpu" else "alive nodes with a CPU"
        raise InputError(f"the Ray cluster has no {what} to run on")
    return out


class _CaseRunner:
    """The actor body (wrapped by ``ray.remote`` at run time, so Ray stays optional)."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def fingerprint(self) -> dict[str, Any]:
        fp = fpmod.fingerprint()
        # Nodes of one host share every other field; the node (and GPU slot) tells them apart.
        fp["ray"] = {
            "node_id": self.target.node_id,
            "node_address": self.target.address,
            "gpu_slot": self.target.slot,
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        }
        return fp

    def run(self, case: Case, workdir: str) -> dict[str, Any]:
        started = datetime.now(UTC)
        before = fpmod.cpu_times()
        # GPU state comes from nvidia-smi, so a node without it reads none.
        throttle_before = sysstate.throttle_snapshot(with_gpus=True)
        case_dir = Path(workdir) / f"case-{case.index:03d}"
        outcome = local.run_case(case, case_dir, seed=case.index)
        return {
            "flags": sysstate.case_flags(
                throttle_before, sysstate.throttle_snapshot(with_gpus=True)
            ),
            "outcome": outcome,
            "started_at": started.isoformat(),
            "load_avg": os.getloadavg()[0],
            "cores": os.cpu_count(),
            "steal_pct": fpmod.steal_pct(before, fpmod.cpu_times()),
        }

    def end_state(self) -> dict[str, Any]:
        return fpmod.load_state(window_s=0.1)


def _lost(case: Case, error: str) -> dict[str, Any]:
    return {
        "outcome": {
            "benchmark": case.benchmark,
            "status": "failed",
            "error": error,
            "params": case.params,
            "metrics": [],
        },
        "started_at": datetime.now(UTC).isoformat(),
        "load_avg": None,
        "cores": None,
        "steal_pct": None,
    }


def run_suite_on_ray(
    store: RunStore,
    suite: Suite,
    *,
    address: str | None = None,
    per: Per = "node",
    tags: Sequence[str] = (),
    workdir: Path,
    observer: RunObserver | None = None,
) -> list[RunOutcome]:
    """Run ``suite`` once per target of the Ray cluster at ``address`` (``None``: the
    cluster ``ray.init`` finds, ``RAY_ADDRESS`` or a local one); one run per target."""
    ray = connect_ray(address)
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    found = targets(ray.nodes(), per)
    actor_cls = ray.remote(_CaseRunner)
    actors = [
        actor_cls.options(
            num_cpus=1,
            num_gpus=1 if t.slot is not None else 0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(t.node_id, soft=False),
        ).remote(t)
        for t in found
    ]
    fps: list[dict[str, Any]] = ray.get([a.fingerprint.remote() for a in actors])
    group = f"ray:{uuid.uuid4().hex[:8]}"
    runs = []
    for t, fp in zip(found, fps, strict=True):
        env_id = store.save_environment(fp, fpmod.fingerprint_hash(fp))
        config = {**suite.config(), "start_state": fp["load"], "ray": {"target": t.label}}
        run = store.create_run(
            suite.name, config, tags=[*tags, group], executor="ray", environment_id=env_id
        )
        runs.append((run, env_id))
        if observer:
            observer.run_started(run, suite.cases, len(suite.cases))
    run_dir = str(workdir / f"ray-{group.split(':')[1]}")
    pending: dict[Any, tuple[int, Case]] = {}
    for i, actor in enumerate(actors):
        for case in suite.cases:
            pending[actor.run.remote(case, f"{run_dir}/target-{i}")] = (i, case)
    try:
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            i, case = pending.pop(ref)
            try:
                done: dict[str, Any] = ray.get(ref)
            except ray.exceptions.RayError as exc:
                done = _lost(case, f"Ray target {found[i].label} lost: {exc}")
            run, env_id = runs[i]
            records = outcome_to_results(
                case,
                done["outcome"],
                environment_id=env_id,
                started_at=datetime.fromisoformat(done["started_at"]),
                load_avg=done["load_avg"],
                cores=done["cores"],
                steal_pct=done["steal_pct"],
                flags=done.get("flags", ()),
            )
            store.add_results(run.id, records)
            if observer:
                observer.case_finished(case, records)
    except KeyboardInterrupt:
        for actor in actors:
            ray.kill(actor)
        for run, _ in runs:
            store.set_run_status(
                run.id, RunStatus.INTERRUPTED, error="interrupted by the user (Ctrl-C)"
            )
        raise RunInterrupted(store.get_run(runs[0][0].id)) from None
    states = _end_states(ray, actors)
    for actor in actors:
        ray.kill(actor)
    outcomes = []
    for (run, _), state in zip(runs, states, strict=True):
        store.set_run_status(run.id, RunStatus.COMPLETED, end_state=state)
        outcomes.append(RunOutcome(run=store.get_run(run.id), results=store.results(run.id)))
    return outcomes


def _end_states(ray: Any, actors: Sequence[Any]) -> list[dict[str, Any]]:
    refs = [a.end_state.remote() for a in actors]
    out = []
    for ref in refs:
        try:
            out.append(ray.get(ref, timeout=30))
        except (ray.exceptions.RayError, TimeoutError):
            out.append({"error": "node did not answer", "time": time.time()})
    return out
