"""The fleet profile: one home for every assumption, checked on load, resolved in one
order (--fleet, $FLEETWISE_FLEET, ./fleet.yaml, the built-in default), drafted from a store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fleetwise.errors import InputError
from fleetwise.plan.fleet import default_profile, dump_profile, load_profile, resolve_profile
from fleetwise.present.cli import main

ROOT = Path(__file__).parents[2]
V2023 = ROOT / "tests" / "data" / "clusters" / "alibaba_gpu_v2023"


def write(target: Path, **changes: object) -> Path:
    doc = yaml.safe_load(dump_profile(default_profile()))
    doc.update(changes)
    target.write_text(yaml.safe_dump(doc))
    return target


def test_the_default_says_it_is_one_and_derives_its_figures() -> None:
    p = default_profile()
    assert p.total_gpus == 512 and p.price() == 2.5 and p.hours_per_year == 8760
    assert p.usd_per_person_day == pytest.approx(1000.0)
    assert p.usd_per_engineer_hour == pytest.approx(125.0)
    assert "built-in default" in p.describe() and p.workloads == []
    assert p.workload_for("trace:/any/trace") is None


def test_a_blended_price_weighs_pools_by_gpus(tmp_path: Path) -> None:
    pools = [
        {
            "name": "a",
            "gpus": 30,
            "usd_per_gpu_hour": 1.0,
            "price_source": "x",
            "price_date": "2026-01-01",
        },
        {
            "name": "b",
            "gpus": 10,
            "usd_per_gpu_hour": 5.0,
            "price_source": "x",
            "price_date": "2026-01-01",
        },
    ]
    p = load_profile(write(tmp_path / "f.yaml", pools=pools))
    assert p.total_gpus == 40 and p.price() == pytest.approx(2.0) and p.price("b") == 5.0
    assert p.gpus_of("a") == 30


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hours_per_year": float("nan")}, "hours_per_year"),
        ({"discount_rate": -0.1}, "discount_rate"),
        ({"workloads": [{"match": "trace:*", "represents": {"gpus": 9999}}]}, "represents 9999"),
        ({"workloads": [{"match": "t", "represents": {"gpus": 1, "pool": "nope"}}]}, "no pool"),
        ({"severity": {"critical": 0.01, "high": 0.05, "medium": 0.01, "low": 0.001}}, "fall"),
        ({"colour": "blue"}, "colour"),
        ({"path": "x"}, "path"),
        ({"invest_scenario": "no/such.yaml"}, "invest_scenario"),
    ],
)
def test_bad_profiles_are_one_line_naming_the_file(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    bad = write(tmp_path / "bad.yaml", **change)
    with pytest.raises(InputError, match=message) as err:
        load_profile(bad)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)


def test_the_scenario_of_record_resolves_from_the_profile_or_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "s.yaml").write_text("servers: 2\n")
    p = load_profile(write(tmp_path / "fleet.yaml", invest_scenario="s.yaml"))
    assert Path(p.invest_scenario).resolve() == (tmp_path / "s.yaml").resolve()
    monkeypatch.chdir(ROOT)
    story = load_profile(ROOT / "examples" / "fleet.yaml")
    assert story.invest_scenario == "examples/invest-scenario.yaml"
    assert story.total_gpus == 64 and "buy vs rent" in story.describe()


def test_resolution_order(tmp_path: Path) -> None:
    mine = write(tmp_path / "mine.yaml", name="mine")
    env = write(tmp_path / "env.yaml", name="env")
    assert resolve_profile(mine, str(env), tmp_path).name == "mine"
    assert resolve_profile(None, str(env), tmp_path).name == "env"
    assert resolve_profile(None, None, tmp_path).name == default_profile().name
    write(tmp_path / "fleet.yaml", name="local")
    assert resolve_profile(None, None, tmp_path).name == "local"


def test_dump_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(dump_profile(default_profile()))
    assert load_profile(path).model_dump(exclude={"path"}) == default_profile().model_dump(
        exclude={"path"}
    )


def test_fleet_init_from_the_store_and_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "fw.db")
    nodes = str(V2023 / "openb_node_list_gpu_node.csv")
    assert main(["cluster", "nodes", nodes, "--db", db]) == 0
    out = tmp_path / "fleet.yaml"
    assert main(["fleet", "init", "--from-store", "-o", str(out), "--db", db]) == 0
    assert "6,212 GPUs in 7 pool(s)" in capsys.readouterr().out
    drafted = load_profile(out)
    assert {p.name: p.gpus for p in drafted.pools}["G2"] == 4392
    assert all(p.price_source.startswith("default, not yours") for p in drafted.pools)
    assert main(["fleet", "init", "-o", str(out)]) == 2  # never overwrites without --force
    capsys.readouterr()
    assert main(["fleet", "show", "--fleet", str(out), "--json"]) == 0
    assert sum(p["gpus"] for p in json.loads(capsys.readouterr().out)["pools"]) == 6212
