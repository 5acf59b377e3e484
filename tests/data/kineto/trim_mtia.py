"""Make ``mtia_single_rank_trimmed/`` from the shared 456K-event MTIA trace.

Keeps the metadata and every event that starts in the first 10% of the trace's time span,
minus the ``M`` (process/thread name) events; the HTA answers on the result are in
``hta_reference/mtia_single_rank_trimmed/``, written by ``benchmarks/hta_reference.py``.

    .venv/bin/python tests/data/kineto/trim_mtia.py \
        ../shared/data/kineto/mtia_single_rank/mtia_rank_0.json.gz
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

KEEP_FRACTION = 0.10


def main(source: str) -> None:
    with gzip.open(source, "rb") as fh:
        doc = json.loads(fh.read())
    events = [e for e in doc["traceEvents"] if e.get("ph") != "M"]
    starts = [e["ts"] for e in events if "ts" in e]
    cut = min(starts) + KEEP_FRACTION * (max(starts) - min(starts))
    doc["traceEvents"] = [e for e in events if e.get("ts", cut) < cut]
    out = Path(__file__).parent / "mtia_single_rank_trimmed" / "mtia_rank_0.json.gz"
    out.parent.mkdir(exist_ok=True)
    with gzip.open(out, "wt") as fh:
        json.dump(doc, fh)


if __name__ == "__main__":
    main(sys.argv[1])
