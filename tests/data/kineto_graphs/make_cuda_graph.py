"""Make ``cuda_graph_v100/`` : the V100 trace of ``kineto/ns_resolution_v100`` replayed as
CUDA graphs from its third profiler step on.

No shared trace set launches CUDA graphs, so this one is derived from a real trace: from
``ProfilerStep#102`` on, each run of up to ``GRAPH_SIZE`` consecutive ``cudaLaunchKernel``
calls of a thread becomes one ``cudaGraphLaunch`` (cbid 311, as CUPTI reports it) at the
first call's start, lasting ``8 us + 0.25 us per kernel`` (graph launches cost a few us
whatever their size); the other calls and their flow events go, and every kernel of the run
takes the graph launch's correlation id, which is how Kineto shows graph kernels. Kernel
times, copies, memsets and CPU operators stay as recorded. HTA 0.5.0's answers on the result
are in ``hta_reference/cuda_graph_v100/`` (``benchmarks/hta_reference.py``).

    .venv/bin/python tests/data/kineto_graphs/make_cuda_graph.py
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SOURCE = HERE.parent / "kineto" / "ns_resolution_v100"
GRAPH_SIZE = 24
FIRST_GRAPH_STEP = "ProfilerStep#102"


def main() -> None:
    (source,) = sorted(SOURCE.glob("*.json.gz"))
    doc = json.loads(gzip.decompress(source.read_bytes()))
    events: list[dict[str, Any]] = doc["traceEvents"]
    start = min(e["ts"] for e in events if e.get("name") == FIRST_GRAPH_STEP)
    launches = sorted(
        (e for e in events if e.get("name") == "cudaLaunchKernel" and e["ts"] >= start),
        key=lambda e: (e["pid"], e["tid"], e["ts"]),
    )
    new_corr: dict[int, int] = {}  # old correlation -> its graph launch's
    dropped: set[int] = set()
    group: list[dict[str, Any]] = []

    def close_group() -> None:
        if not group:
            return
        head = group[0]
        corr = head["args"]["correlation"]
        head["name"] = "cudaGraphLaunch"
        head["args"]["cbid"] = 311
        head["dur"] = round(8.0 + 0.25 * len(group), 3)
        for call in group:
            new_corr[call["args"]["correlation"]] = corr
        dropped.update(id(call) for call in group[1:])
        group.clear()

    for call in launches:
        if group and (
            len(group) == GRAPH_SIZE
            or (call["pid"], call["tid"]) != (group[0]["pid"], group[0]["tid"])
        ):
            close_group()
        group.append(call)
    close_group()
    gone = {c for c, g in new_corr.items() if c != g}
    kept = []
    for e in events:
        if id(e) in dropped:
            continue
        if e.get("cat") == "ac2g" and e.get("id") in gone:
            continue  # the dropped call's flow arrow
        args = e.get("args")
        if e.get("cat") == "kernel" and isinstance(args, dict) and args.get("correlation") in gone:
            args["correlation"] = new_corr[args["correlation"]]
        kept.append(e)
    doc["traceEvents"] = kept
    out = HERE / "cuda_graph_v100" / "rank-0.cuda_graph.pt.trace.json.gz"
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(gzip.compress(json.dumps(doc).encode(), mtime=0))
    graphs = sum(1 for e in kept if e.get("name") == "cudaGraphLaunch")
    print(f"{out}: {graphs} graph launches, {len(gone) + graphs} kernels in graphs")


if __name__ == "__main__":
    main()
