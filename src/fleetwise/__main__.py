"""``python -m fleetwise``."""

from fleetwise.present.cli import run

run()
