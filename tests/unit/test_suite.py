"""Suite files: validation errors name the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetwise.collect.suite import DEFAULT_PROCESSES, builtin_suites, load_suite
from fleetwise.errors import SuiteError

SUITES = Path(__file__).parents[1] / "data" / "suites"


def test_matrix_expands_with_defaults_and_stable_keys() -> None:
    suite = load_suite(str(SUITES / "tiny.yaml"))
    assert suite.name == "tiny"
    assert [c.params["command"] for c in suite.cases] == ["true", "python"]
    assert all(c.params["spawns"] == 3 and c.repeat == 3 for c in suite.cases)
    assert suite.cases[0].key != suite.cases[1].key
    assert load_suite(str(SUITES / "tiny.yaml")).cases[0].key == suite.cases[0].key


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("typo_key.yaml", "typo_key.yaml:4: defaults.repeats: unknown key"),
        ("typo_param.yaml", "typo_param.yaml:6: cases.0.params.spawn: unknown parameter"),
        ("unknown_benchmark.yaml", "unknown_benchmark.yaml:4: cases.1.benchmark: unknown"),
        ("broken_yaml.yaml", "broken_yaml.yaml:5: not valid YAML"),
    ],
)
def test_bad_suites_name_file_line_and_key(name: str, expected: str) -> None:
    with pytest.raises(SuiteError) as exc:
        load_suite(str(SUITES / name))
    assert expected in str(exc.value)
    assert "\n" not in str(exc.value)


def test_missing_file_and_unknown_builtin() -> None:
    with pytest.raises(SuiteError, match=r"nope\.yaml: suite file not found"):
        load_suite("nope.yaml")
    with pytest.raises(SuiteError, match="built-in: gpu, quick, standard"):
        load_suite("nope")


@pytest.mark.parametrize("name", ["quick", "standard", "gpu"])
def test_builtin_suites_load(name: str) -> None:
    assert name in builtin_suites()
    suite = load_suite(name)
    assert suite.cases and suite.name == name


def test_worker_processes_by_default_and_per_builtin_suite(tmp_path: Path) -> None:
    """Ten workers unless a suite says otherwise (measured, benchmarks/README.md); quick keeps
    one for its two-minute budget, gpu three for a CUDA worker's slow set-up."""
    bare = tmp_path / "bare.yaml"
    bare.write_text("name: bare\ncases:\n  - benchmark: orchestration.spawn\n")
    assert [c.processes for c in load_suite(str(bare)).cases] == [DEFAULT_PROCESSES]
    assert DEFAULT_PROCESSES == 10
    plans = {
        name: {(c.processes, c.repeat) for c in load_suite(name).cases} for name in builtin_suites()
    }
    assert plans == {"quick": {(1, 5)}, "standard": {(10, 3), (3, 3)}, "gpu": {(3, 10)}}
    slow = {c.benchmark for c in load_suite("standard").cases if c.processes == 3}
    assert slow == {"compute.inference"}
