"""Slurm host lists (``gpu[01-04,07],login1``) expanded to host names, and a job's GPUs
spread over them.

The syntax is Slurm's (``scontrol show hostnames``): comma-separated items, each a name
with bracketed ranges; a range keeps the zero padding of its lower bound (``[08-11]``
gives ``08 09 10 11``); several bracket groups in one item give every combination
(``r[1-2]n[1-2]`` gives ``r1n1 r1n2 r2n1 r2n2``).
"""

from __future__ import annotations

import re
from itertools import product
from math import prod

from fleetwise.errors import InputError

#: What sacct prints for a job that was never given nodes.
NO_HOSTS = {"", "none", "none assigned", "(null)", "n/a"}
MAX_HOSTS = 1_000_000
#: Host numbers are at most this many digits (Slurm's are 32-bit).
MAX_DIGITS = 18
_RANGE = re.compile(r"^([0-9]+)(?:-([0-9]+))?$")


def _split_top(text: str, where: str) -> list[str]:
    """Split on the commas outside brackets."""
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "[":
            depth += 1
            if depth > 1:
                raise InputError(f"{where}: nested '[' in host list {text!r}")
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise InputError(f"{where}: unmatched ']' in host list {text!r}")
        if ch == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth:
        raise InputError(f"{where}: unclosed '[' in host list {text!r}")
    items.append("".join(current))
    return [i.strip() for i in items if i.strip()]


def _range_values(body: str, where: str) -> list[str]:
    values: list[str] = []
    for part in body.split(","):
        m = _RANGE.match(part.strip())
        if not m:
            raise InputError(f"{where}: bad range {part!r} in host list (expected N or N-M)")
        lo_text, hi_text = m.group(1), m.group(2)
        if max(len(lo_text), len(hi_text or "")) > MAX_DIGITS:
            raise InputError(f"{where}: host number in {part[:40]!r} has over {MAX_DIGITS} digits")
        lo = int(lo_text)
        hi = int(hi_text) if hi_text is not None else lo
        if hi < lo:
            raise InputError(f"{where}: range {part!r} runs backwards")
        if len(values) + hi - lo + 1 > MAX_HOSTS:
            raise InputError(f"{where}: host list has more than {MAX_HOSTS:,} hosts")
        width = len(lo_text) if lo_text.startswith("0") else 0
        values.extend(str(n).zfill(width) for n in range(lo, hi + 1))
    return values


def expand_hostlist(text: str, where: str = "host list") -> list[str]:
    """The host names of a Slurm host list, in order; ``[]`` for "None assigned"."""
    if text.strip().lower() in NO_HOSTS:
        return []
    hosts: list[str] = []
    for item in _split_top(text.strip(), where):
        pieces = re.split(r"(\[[^\]]*\])", item)
        choices = [_range_values(p[1:-1], where) if p.startswith("[") else [p] for p in pieces if p]
        if len(hosts) + prod(len(c) for c in choices) > MAX_HOSTS:
            raise InputError(f"{where}: host list has more than {MAX_HOSTS:,} hosts")
        hosts.extend("".join(combo) for combo in product(*choices))
    return hosts


def spread(gpus: int, hosts: list[str]) -> dict[str, int]:
    """``gpus`` spread evenly over ``hosts`` (the first ``gpus % n`` get one more), as a
    job's total GPU count is spread over its nodes when the log gives only the total."""
    if gpus <= 0 or not hosts:
        return {}
    unique = list(dict.fromkeys(hosts))
    base, extra = divmod(gpus, len(unique))
    placement = {h: base + (1 if k < extra else 0) for k, h in enumerate(unique)}
    return {h: n for h, n in placement.items() if n > 0}
