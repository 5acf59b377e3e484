"""``fleetwise env``: the environment fingerprint of this machine."""

from __future__ import annotations

from fleetwise.collect.fingerprint import fingerprint, fingerprint_hash
from fleetwise.collect.system_state import machine_advice
from fleetwise.present.cli.common import JsonOption, print_json, stdout
from fleetwise.present.cli.render import environment_table, machine_view


def env(json_out: JsonOption = False) -> None:
    """Print this machine's environment fingerprint (what every run records)."""
    fp = fingerprint()
    fp["fingerprint_hash"] = fingerprint_hash(fp)
    advice = machine_advice(fp["system"], gpu_run=bool(fp["gpus"]))
    if json_out:
        fp["machine_advice"] = advice
        print_json(fp)
    else:
        stdout().print(environment_table(fp))
        stdout().print(machine_view(advice))
