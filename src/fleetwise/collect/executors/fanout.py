"""Map one function over many inputs: in this process, a local process pool, or a Ray cluster.

What trace analysis uses to read ranks (one task per rank file, a small summary back): the
pool is sized to the cores and forks, so workers share the loaded modules; on Ray each task
asks for one CPU and Ray spreads the tasks over the cluster's nodes. Inputs are paths, so on
Ray the files must be readable at the same path on every node (a shared file system).
Results come back in input order whatever order tasks finish in.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
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
    """``fn`` over ``items`` in a fork-started process pool (in this process for one worker)."""
    size = pool_size(len(items), workers)
    if size < 2:
        return [fn(item) for item in items]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=size, mp_context=context) as pool:
        return list(pool.map(fn, items))


def ray_map(fn: Callable[[T], R], items: Sequence[T], address: str | None = None) -> list[R]:
    """``fn`` over ``items`` as Ray tasks of one CPU each on the cluster at ``address``
    (``None``: ``RAY_ADDRESS``, else a local Ray instance)."""
    ray = _ray()
    if not ray.is_initialized():
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(f"cannot connect to the Ray cluster at {address!r}: {exc}") from exc
    task = ray.remote(num_cpus=1)(fn)
    results: list[R] = ray.get([task.remote(item) for item in items])
    return results


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


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray") from exc
    return ray
