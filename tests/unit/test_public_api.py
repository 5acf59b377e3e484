"""``fleetwise.__all__`` is the public API: every name exists, nothing public is unlisted."""

from __future__ import annotations

import fleetwise


def test_all_names_exist_once() -> None:
    for name in fleetwise.__all__:
        assert hasattr(fleetwise, name), name
    assert len(set(fleetwise.__all__)) == len(fleetwise.__all__)


def test_no_unlisted_public_members() -> None:
    subpackages = {
        "analyze",
        "collect",
        "errors",
        "hardware",
        "models",
        "store",
        "config",
        "plan",
        "present",
        "units",
        "stats",
        "textfile",
        "timeutil",
        "usecases",
        "checked",
        "annotations",
        "importlib",
        "TYPE_CHECKING",
        "Any",
    }
    for name in fleetwise.__all__:
        getattr(fleetwise, name)  # names load on first use (PEP 562)
    public = {n for n in vars(fleetwise) if not n.startswith("_")} - subpackages
    assert public == set(fleetwise.__all__) - {"__version__"}
