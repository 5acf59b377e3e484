"""NVIDIA XID errors: what each code means and whether it says the GPU is unhealthy.

From NVIDIA's XID catalog (docs.nvidia.com/deploy/xid-errors, "Xid Errors"), the codes
that fleets see most. An XID is either caused by the application (a bad kernel, a memory
fault of the program: the GPU is fine and the next job runs) or by the GPU, its memory,
its links or the driver (the GPU needs a reset, a drain or a replacement). Application
faults are kept as information only; everything else marks the GPU unhealthy until it is
reset, which is when DCGM's ``DCGM_FI_DEV_XID_ERRORS`` goes back to 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["application", "memory", "interconnect", "gpu", "driver", "unknown"]


@dataclass(frozen=True)
class Xid:
    code: int
    meaning: str
    kind: Kind
    #: An application fault says nothing about the GPU; the others make it unhealthy.
    unhealthy: bool
    action: str


_CATALOG: dict[int, tuple[str, Kind, str]] = {
    13: ("graphics engine exception", "application", "debug the application"),
    31: ("GPU memory page fault", "application", "debug the application (illegal address)"),
    43: ("GPU stopped processing", "application", "the application faulted; none for the GPU"),
    45: ("preemptive cleanup after earlier errors", "application", "see the XID before it"),
    48: ("double-bit ECC error", "memory", "drain the node and reset the GPU"),
    61: ("internal micro-controller breakpoint", "gpu", "reset the GPU; report if repeated"),
    62: ("internal micro-controller halt", "gpu", "reset the GPU"),
    63: ("ECC page retirement or row remapping recorded", "memory", "reset the GPU to apply it"),
    64: ("ECC page retirement or row remapping failed", "memory", "replace the GPU (RMA)"),
    74: ("NVLink error", "interconnect", "check the NVLink/NVSwitch; reset the GPUs"),
    79: ("GPU has fallen off the bus", "gpu", "drain the node; check power, PCIe, firmware"),
    92: ("high single-bit ECC error rate", "memory", "watch; replace if it persists"),
    94: ("contained ECC error", "memory", "restart the application; reset the GPU to remap"),
    95: ("uncontained ECC error", "memory", "drain the node and reset the GPU"),
    119: ("GSP RPC timeout", "driver", "reset the GPU; update the driver"),
    120: ("GSP error", "driver", "reset the GPU; update the driver"),
    140: ("unrecovered ECC error", "memory", "drain the node and reset the GPU"),
}

#: ``NVRM: Xid (PCI:0000:3b:00): 79, pid=..., GPU has fallen off the bus.`` in the kernel log.
KERNEL_LOG_XID = re.compile(r"NVRM: Xid \((?P<pci>PCI:[0-9A-Fa-f:.]+)\): (?P<code>\d+)\b")


def xid(code: int) -> Xid:
    """The catalog entry of ``code``; an unlisted code is unknown and counted unhealthy."""
    meaning, kind, action = _CATALOG.get(
        code, (f"XID {code}", "unknown", "look the code up in NVIDIA's XID catalog")
    )
    return Xid(code, meaning, kind, kind != "application", action)
