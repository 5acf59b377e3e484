"""Is the host healthy enough for its results to count? XID events, uncorrected ECC errors,
and the one list of warnings that say a result was taken on an unhealthy or throttled host.

Read around each case (``system_state.throttle_snapshot`` / ``case_flags``), cheaply and
only when the run has GPUs:

- XID events: the driver logs ``NVRM: Xid (PCI:0000:3b:00): 79, pid=..., ...`` to the
  kernel log; ``dmesg`` reads it where the user may (``kernel.dmesg_restrict = 0`` or
  CAP_SYSLOG), else nothing is known and nothing is flagged. A case is flagged for an XID
  logged while it ran that is not an application fault (``collect/xid.py``).
- uncorrected ECC errors: nvidia-smi's ``ecc.errors.uncorrected.volatile.total`` (since the
  driver loaded). Any on a GPU the case used flags it: bad memory rows stay until a reset.

:func:`health_reasons` recognises these flags, the GPU and CPU throttle flags of
``system_state.case_flags`` and the CPU-steal warning of ``stats.stability_warnings`` in a
result's warnings: the results so marked are left out of change-point detection by default.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fleetwise.collect.xid import KERNEL_LOG_XID, xid

#: A reason for each warning that says the host was unhealthy or throttled; the patterns
#: match the texts ``case_flags``, the flags below and ``stability_warnings`` write.
HEALTH_WARNINGS: dict[str, re.Pattern[str]] = {
    "XID": re.compile(r"^GPU XID \d+ "),
    "ECC": re.compile(r"^GPU \S+ has \d+ uncorrected ECC"),
    "GPU throttled": re.compile(r"^GPU \S+ throttled \("),
    "CPU thermal throttling": re.compile(r"^CPU thermal throttling"),
    "CPU steal": re.compile(r"^CPU steal "),
}


def health_reasons(warnings: Iterable[str]) -> list[str]:
    """The reasons (``HEALTH_WARNINGS`` keys) the warnings give, each once, in key order."""
    found = {
        reason
        for w in warnings
        if isinstance(w, str)
        for reason, pattern in HEALTH_WARNINGS.items()
        if pattern.search(w)
    }
    return [r for r in HEALTH_WARNINGS if r in found]


def parse_kernel_xids(text: str) -> list[str]:
    """The kernel-log lines that report an XID (whole lines: their timestamps tell two
    events of the same code apart)."""
    return [line.strip() for line in text.splitlines() if KERNEL_LOG_XID.search(line)]


def kernel_xids() -> list[str] | None:
    """XID lines of the kernel log now; None when it cannot be read here."""
    if shutil.which("dmesg") is None:
        return None
    try:
        done = subprocess.run(
            ["dmesg"], capture_output=True, text=True, timeout=5, check=False, errors="replace"
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_kernel_xids(done.stdout) if done.returncode == 0 else None


def xid_flags(before: Sequence[str] | None, after: Sequence[str] | None) -> list[str]:
    """A flag for each XID logged between the two reads that is not an application fault."""
    if before is None or after is None:
        return []
    seen = set(before)
    out = []
    for line in after:
        m = KERNEL_LOG_XID.search(line)
        if line in seen or m is None:
            continue
        info = xid(int(m.group("code")))
        if info.unhealthy:
            out.append(
                f"GPU XID {info.code} on {m.group('pci')} during the case ({info.meaning}): "
                f"{info.action}; the result measured a failing GPU"
            )
    return out


def ecc_flags(
    before: Sequence[Mapping[str, Any]],
    after: Sequence[Mapping[str, Any]],
    gpu_indices: Sequence[int] | None = None,
) -> list[str]:
    """A flag for each GPU the case used with uncorrected ECC errors after it."""
    start = {g.get("index"): g.get("ecc_uncorrected") for g in before}
    out = []
    for g in after:
        idx, count = g.get("index"), g.get("ecc_uncorrected")
        if gpu_indices is not None and idx not in gpu_indices:
            continue
        if isinstance(count, int | float) and count > 0:
            was = start.get(idx)
            new = f", {count - was:.0f} during the case" if isinstance(was, int | float) else ""
            out.append(
                f"GPU {idx} has {count:.0f} uncorrected ECC errors since the driver loaded"
                f"{new}: reset the GPU (nvidia-smi -r) before trusting its results"
            )
    return out
