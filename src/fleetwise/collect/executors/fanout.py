"""Map one function over many inputs: in this process, a local process pool, or a Ray cluster.

What trace analysis uses to read ranks (one task per rank file, a small summary back): the
pool is sized to the cores and forks, so workers share the loaded modules; on Ray each task
asks for one CPU and the tasks are dealt round the cluster's nodes. Inputs are paths, so on
Ray the files must be readable at the same path on every node (a shared file system).
Results come back in input order whatever order tasks finish in.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from fleetwise.errors import InputError, MissingDependencyError

T = TypeVar("T")
R = TypeVar("R")

Executor = Literal["local", "ray"]


def pool_size(tasks: int, workers: int | None = None) -> int:
    """Processes for ``tasks`` tasks: ``workers`` if given, else one per core, never more
    than there are tasks."""
    return max(1, min(tasks, workers if workers is not None else os.cpu_count() or 1))


def local_map(fn: Callable[[T], R], items: Sequence[T], workers: int | None = None) -> list[R]:
    """``fn`` over ``items`` in ``workers`` processes: this one and ``workers - 1`` forked
    children (this process alone for one worker).

    Process k of ``size`` takes items k, k + size, ...; this process is process 0 rather than
    waiting on a pool of ``workers`` children: the same parallelism with one process fewer,
    whose memory (interpreter, NumPy, the loaded modules) would otherwise be counted once
    more. The children are plain forks that send their results back through a pipe (about
    2 ms each), not a ``ProcessPoolExecutor`` (about 20 ms with its imports), so that sets
    of a few megabytes gain from the second core too. An exception ``fn`` raises in a child
    is raised here, as if this process had run it.
    """
    size = pool_size(len(items), workers)
    if size < 2:
        return [fn(item) for item in items]
    import pickle  # a set read in one process never needs it

    for out in (sys.stdout, sys.stderr):
        out.flush()  # or a child's exit would write the parent's buffered text again
    children = [_fork(fn, items, k, size) for k in range(1, size)]
    results: dict[int, R] = {i: fn(items[i]) for i in range(0, len(items), size)}
    failure: BaseException | None = None
    for pid, reader in children:
        with os.fdopen(reader, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        try:
            done: list[tuple[int, bool, Any]] = pickle.loads(data)
        except (pickle.UnpicklingError, EOFError):
            signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            how = f"was killed by signal {signal}" if signal else f"exited with {status}"
            failure = failure or RuntimeError(f"a worker process {how} (out of memory?)")
            continue
        for i, ok, value in done:
            if ok:
                results[i] = value
            else:
                failure = failure or value
    if failure is not None:
        raise failure
    return [results[i] for i in range(len(items))]


def _fork(fn: Callable[[T], R], items: Sequence[T], k: int, size: int) -> tuple[int, int]:
    """Start the child that runs ``fn`` on items k, k + size, ...; (its pid, read end)."""
    import pickle

    reader, writer = os.pipe()
    pid = os.fork()
    if pid:
        os.close(writer)
        return pid, reader
    code = 1
    try:  # the child: never returns, never runs the parent's exit handlers
        os.close(reader)
        done: list[tuple[int, bool, Any]] = []
        for i in range(k, len(items), size):
            try:
                done.append((i, True, fn(items[i])))
            except Exception as exc:  # noqa: BLE001 - sent to the parent, raised there
                done.append((i, False, exc))
                break
        try:
            data = pickle.dumps(done, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception
            data = pickle.dumps([(k, False, RuntimeError(f"worker result: {exc}"))])
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(data)
        code = 0
    finally:
        os._exit(code)


def ray_map(fn: Callable[[T], R], items: Sequence[T], address: str | None = None) -> list[R]:
    """``fn`` over ``items`` as Ray tasks of one CPU each on the cluster at ``address``
    (``None``: ``RAY_ADDRESS``, else a local Ray instance)."""
    ray = connect_ray(address)
    task = ray.remote(num_cpus=1)(fn)
    nodes = _cpu_nodes(ray)
    if not nodes:
        results: list[R] = ray.get([task.remote(item) for item in items])
        return results
    # Item i goes to node i mod N (soft: elsewhere if that node is gone), so every node reads
    # its share of the files. Ray's own placement fills the first node's idle workers when
    # each task takes milliseconds, leaving the other nodes unused.
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    refs = [
        task.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(nodes[i % len(nodes)], soft=True)
        ).remote(item)
        for i, item in enumerate(items)
    ]
    results = ray.get(refs)
    return results


def _cpu_nodes(ray: Any) -> list[str]:
    """Ids of the cluster's live nodes that have CPUs, in a stable order."""
    return sorted(
        str(n["NodeID"])
        for n in ray.nodes()
        if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0
    )


def fan_out(
    fn: Callable[[T], R],
    items: Sequence[T],
    executor: Executor = "local",
    *,
    workers: int | None = None,
    address: str | None = None,
) -> list[R]:
    """``fn`` over ``items`` with the named executor."""
    if executor == "ray":
        return ray_map(fn, items, address)
    if address is not None:
        raise InputError("--address needs --executor ray")
    return local_map(fn, items, workers)


def connect_ray(address: str | None) -> Any:
    """The ``ray`` module, joined to the cluster at ``address`` (``None``: ``RAY_ADDRESS``,
    else a local instance) unless already; a missing Ray or an unreachable cluster is one
    line (exit 2), not a traceback."""
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray") from exc
    if not ray.is_initialized():
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(f"cannot connect to the Ray cluster at {address!r}: {exc}") from exc
    return ray
