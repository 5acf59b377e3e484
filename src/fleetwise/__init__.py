"""fleetwise: measure, diagnose, plan and convince for AI fleets."""

__version__ = "0.1.0"
