"""Fuzzing every importer and YAML loader: only ``FleetwiseError`` escapes, naming the file.

Each target starts from a real, valid input, whole (a JSON or YAML document cut short is no
seed at all: every mutation would only reach the first rejection; only a CSV or text log
past ``SEED_BYTES`` is cut, at a line, which leaves a shorter valid log), and hypothesis
mutates its bytes: truncation, flipped and inserted bytes, deleted, duplicated and
swapped lines, separators swapped, non-UTF-8 text. Whatever comes out, the parser either
returns or raises a ``FleetwiseError`` (exit 2 in the CLI) whose message names the file.
Any other exception - IndexError, UnicodeDecodeError, ValueError from deep inside - is
a crash the user would see as a traceback, and fails here.

The budget is ``FUZZ_EXAMPLES`` examples per target (default 120; the examples are
derandomised so CI is repeatable). ``FUZZ_EXAMPLES=5000 pytest tests/property/test_fuzz_inputs.py``
for a longer campaign.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetwise.analyze.findings import trace_findings
from fleetwise.analyze.traces_report import analyze_trace_set
from fleetwise.collect.importers import fio, otava_csv
from fleetwise.collect.importers.delivery_rules import load_team_map
from fleetwise.collect.importers.jobs import import_jobs
from fleetwise.collect.importers.nodes import import_nodes
from fleetwise.collect.importers.notes import parse as parse_note
from fleetwise.collect.importers.pipeline import parse_process
from fleetwise.collect.importers.survey import parse as parse_survey
from fleetwise.collect.importers.telemetry import import_telemetry
from fleetwise.collect.suite import load_suite
from fleetwise.errors import FleetwiseError
from fleetwise.models import Action, AnalysisRecord, Series, SeriesKey, SeriesPoint
from fleetwise.plan.alignment import load_register
from fleetwise.plan.backlog import load_actions
from fleetwise.plan.experiments import load_experiment
from fleetwise.plan.invest import load_scenario
from fleetwise.plan.kpis import load_kpis
from fleetwise.plan.meetings import load_meeting
from fleetwise.plan.questions import load_map
from fleetwise.plan.retro import load_retro
from fleetwise.plan.valuestream import load_map as load_value_stream

DATA = Path(__file__).parents[1] / "data"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))
#: A row-per-line seed larger than this is cut at a line (parsing stays fast per example).
SEED_BYTES = 64_000

Parser = Callable[[Path], Any]
KPIS = {"loader-throughput", "gemm-efficiency", "lead-time"}  # the examples' KPI names


def _kpi_data() -> tuple[list[Series], list[AnalysisRecord]]:
    """A store's worth of data for the KPIs seed to bind to: the dataloader series of the
    examples and cluster analyses with a utilization."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    key = SeriesKey(
        benchmark="storage.dataloader",
        metric="samples_per_s",
        params_hash="a1b2c3d4e5",
        env_class="e1f2a3",
        params={"num_workers": 2, "files": 48},
        unit="samples/s",
    )
    points = [
        SeriesPoint(
            run_id=i + 1,
            result_id=i + 1,
            time=start + timedelta(days=i),
            median=1000.0 + 10 * i,
            ci_low=990.0 + 10 * i,
            ci_high=1010.0 + 10 * i,
            n=5,
        )
        for i in range(5)
    ]
    analyses = [
        AnalysisRecord(
            id=i + 1,
            kind="cluster",
            source="store",
            created_at=start + timedelta(days=7 * i),
            summary={"allocation": {"share": 0.5 + 0.05 * i}},
        )
        for i in range(3)
    ]
    return [Series(key=key, points=points)], analyses


SERIES, ANALYSES = _kpi_data()
#: generic.csv has no known header: it needs a mapping (without one, every example would
#: stop at "cannot tell its format").
GENERIC_MAP = {
    "submit": "Submitted",
    "start": "Started",
    "gpus": "Accelerators",
    "duration": "Runtime",
    "job_id": "Job",
    "state": "Outcome",
    "team": "Group",
}

#: The backlog the register and meeting seeds name (tests/data/alignment).
ALIGNED = [
    Action(
        id=1,
        title="Set DataLoader num_workers=2 with persistent workers in the training template",
        effort_days=1,
    )
]
ATTENDEES = {"Dana Whitfield", "Omar Haddad", "Priya Raman", "<script>alert('fleetwise')</script>"}

TARGETS: dict[str, tuple[str, Parser]] = {
    "slurm": ("clusters/formats/sacct.txt", lambda p: import_jobs(p, "slurm")),
    "alibaba": ("clusters/alibaba_pods_head800.csv", lambda p: import_jobs(p, "alibaba")),
    "helios-jobs": ("clusters/formats/helios_jobs.csv", lambda p: import_jobs(p, "helios")),
    "philly-jobs": ("clusters/formats/philly_jobs.json", lambda p: import_jobs(p, "philly")),
    "jobs-mapped-csv": (
        "clusters/formats/generic.csv",
        lambda p: import_jobs(p, "csv", GENERIC_MAP),
    ),
    "jobs-auto": ("clusters/alibaba_pods_head800.csv", lambda p: import_jobs(p)),
    "slurm-nodelist": ("clusters/formats/sacct_nodelist.txt", lambda p: import_jobs(p, "slurm")),
    "philly-placed": ("clusters/formats/philly_placed.json", lambda p: import_jobs(p, "philly")),
    "nodes-scontrol": (
        "clusters/nodes/scontrol_oneliner.txt",
        lambda p: import_nodes(p, "scontrol"),
    ),
    "nodes-multiline": (
        "clusters/nodes/scontrol_show_node.txt",
        lambda p: import_nodes(p, "scontrol"),
    ),
    "nodes-philly": ("clusters/nodes/philly_machine_list.csv", lambda p: import_nodes(p, "philly")),
    "nodes-alibaba": (
        "clusters/nodes/alibaba_gpu_nodes.csv",
        lambda p: import_nodes(p, "alibaba"),
    ),
    "nodes-auto": ("clusters/nodes/philly_five_machines.csv", lambda p: import_nodes(p)),
    "dcgm-prom": ("clusters/formats/dcgm.prom", lambda p: import_telemetry(p, "dcgm")),
    "dcgm-json": ("clusters/formats/dcgm_query_range.json", lambda p: import_telemetry(p)),
    "helios-seq": ("clusters/helios_vc6YE_3days.csv", lambda p: import_telemetry(p)),
    # telemetry and health, Alibaba 2025, PAI 2020 (issue 17 part 4)
    **{
        f"dcgm-health-{ext}": (f"clusters/dcgm_health/{name}", lambda p: import_telemetry(p))
        for ext, name in [
            ("prom", "dcgm_health.prom"),
            ("json", "dcgm_health_query_range.json"),
            ("csv", "dcgm_health.csv"),
        ]
    },
    "alibaba2025": (
        "clusters/alibaba_2025_dlrm_head50.csv",
        lambda p: import_jobs(p, "alibaba2025"),
    ),
    "nodes-pai": ("clusters/nodes/pai_machine_spec_head.csv", lambda p: import_nodes(p, "pai")),
    "pipeline-csv": ("process/pipeline_runs.csv", lambda p: parse_process(p)),
    "github-actions": ("process/github_actions_jobs.json", lambda p: parse_process(p)),
    "pagerduty-json": ("process/pagerduty_incidents.json", lambda p: parse_process(p)),
    "pagerduty-csv": ("process/pagerduty_analytics.csv", lambda p: parse_process(p)),
    "opsgenie-json": ("process/opsgenie_alerts.json", lambda p: parse_process(p)),
    "opsgenie-csv": ("process/opsgenie_alerts.csv", lambda p: parse_process(p)),
    # API exports (issue 17 part 2): each with its format named, so every mutation reaches it
    **{
        f"api-{rel.split('.')[0].replace('/', '-')}": (
            f"process/{rel}",
            lambda p, fmt=fmt: parse_process(p, fmt),
        )
        for fmt, rel in [
            ("github-deployments", "github/deployments.json"),
            ("github-pulls", "github/pulls.json"),
            ("github-actions", "github/actions_runs_jobs.json"),
            ("gitlab-deployments", "gitlab/deployments.json"),
            ("gitlab-merge-requests", "gitlab/merge_requests.json"),
            ("gitlab-pipelines", "gitlab/pipelines_jobs.json"),
            ("jenkins", "jenkins/builds.json"),
            ("circleci", "circleci/pipelines_workflows_jobs.json"),
            ("jira", "jira/search.json"),
            ("opsgenie-incidents", "opsgenie/incidents.json"),
            ("pagerduty-log-entries", "pagerduty/log_entries.json"),
            ("pagerduty", "pagerduty/devlake_raw_incidents.csv"),
            ("pagerduty-log-entries", "pagerduty/incidents_with_log_entries.json"),
        ]
    },
    "api-auto": ("process/gitlab/pipelines_jobs.json", lambda p: parse_process(p)),
    "team-map-yaml": ("process/teams.yaml", load_team_map),
    "otava-csv": ("changepoints/otava_samples/sample.csv", otava_csv.parse),
    "histostat": ("changepoints/otava_samples/histostat.csv", otava_csv.parse),
    "fio-json": ("fio/randread-4k-libaio-direct.json", fio.parse),
    "suite-yaml": ("suites/tiny.yaml", lambda p: load_suite(str(p))),
    "actions-yaml": (
        "../../examples/actions.yaml",
        lambda p: load_actions(p, known_kpis=KPIS, known_ids=()),
    ),
    "retro-yaml": (
        "../../examples/retro.yaml",
        lambda p: load_retro(p, known_kpis=KPIS, known_ids=()),
    ),
    "experiment-yaml": ("../../examples/experiment-dataloader-workers.yaml", load_experiment),
    "kpis-yaml": (
        "plan/kpis.yaml",
        lambda p: load_kpis(p, series=SERIES, analyses=ANALYSES, existing=[]),
    ),
    "philly-seq": (
        "clusters/philly_node_sequence_10min.csv",
        lambda p: import_telemetry(p, "philly"),
    ),
    "survey-typeform": (
        "people/typeform_dx.csv",
        lambda p: parse_survey(p, load_map(DATA / "people" / "typeform_questions.yaml")),
    ),
    "survey-google-unmapped": (
        "../../examples/people/dx-survey-2026-10-google-forms.csv",
        lambda p: parse_survey(p),
    ),
    "survey-map-yaml": ("../../examples/people/questions.yaml", load_map),
    "note-md": ("people/note_evil_team.md", parse_note),
    # platform change logs (issue 17 part 3)
    "infra-changes-yaml": (
        "process/infra_changes.yaml",
        lambda p: parse_process(p, "infra-changes"),
    ),
    "infra-changes-csv": ("process/infra_changes.csv", lambda p: parse_process(p, "infra-changes")),
    "infra-changes-auto": ("process/infra_changes.yaml", lambda p: parse_process(p)),
    # the people side's files (issue 18): a value-stream map, a register, a meeting
    "process-map-yaml": ("../../examples/process-map.yaml", load_value_stream),
    "stakeholders-yaml": ("alignment/register.yaml", lambda p: load_register(p, ALIGNED)),
    "meeting-md": (
        "alignment/meeting.md",
        lambda p: load_meeting(p, stakeholders=ATTENDEES, actions=ALIGNED),
    ),
}


def _seed(rel: str) -> bytes:
    """The whole input; a CSV or text log past ``SEED_BYTES`` up to the line that
    crosses it (a shorter log of the same rows is still a valid log)."""
    data = (DATA / rel).read_bytes()
    if len(data) <= SEED_BYTES or rel.endswith((".json", ".yaml", ".yml")):
        return data
    cut = data.index(b"\n", SEED_BYTES) + 1
    return data[:cut]


def test_seeds_are_valid_inputs(tmp_path: Path) -> None:
    """Every seed parses: a seed that is already rejected fuzzes nothing."""
    for name, (rel, parse) in TARGETS.items():
        path = tmp_path / name / Path(rel).name
        path.parent.mkdir()
        path.write_bytes(_seed(rel))
        parse(path)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "lines", "swap", "sep", "bad"]))
        n = len(data)
        if op == "truncate" and n:
            del data[draw(st.integers(0, n - 1)) :]
        elif op == "flip" and n:
            i = draw(st.integers(0, n - 1))
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            i = draw(st.integers(0, n))
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "lines":
            lines = bytes(data).splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                if draw(st.booleans()):
                    del lines[i]
                else:
                    lines.insert(i, lines[i])
                data = bytearray(b"".join(lines))
        elif op == "swap":
            lines = bytes(data).splitlines(keepends=True)
            if len(lines) > 1:
                i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
                data = bytearray(b"".join(lines))
        elif op == "sep":
            a, b = draw(st.sampled_from([(b",", b";"), (b"|", b","), (b":", b""), (b'"', b"")]))
            data = bytearray(bytes(data).replace(a, b, draw(st.integers(1, 3))))
        elif op == "bad":
            i = draw(st.integers(0, n))
            data[i:i] = draw(st.sampled_from([b"\xff\xfe", b"\x00", b"nan", b"-1", b"1e999"]))
    return bytes(data)


def _check(parse: Parser, path: Path) -> None:
    try:
        parse(path)
    except FleetwiseError as exc:
        assert path.name in str(exc), f"message does not name the file: {exc}"


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_only_fleetwise_errors_escape(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    rel, parse = TARGETS[name]
    seed = _seed(rel)
    folder = tmp_path_factory.mktemp(name)
    path = folder / Path(rel).name
    path.write_bytes(seed)
    _check(parse, path)  # the seed itself parses or fails cleanly

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutated(seed))
    def fuzz(blob: bytes) -> None:
        path.write_bytes(blob)
        _check(parse, path)

    fuzz()


def test_fourkeys_folder(tmp_path: Path) -> None:
    folder = tmp_path / "fourkeys"
    folder.mkdir()
    names = ["changes.csv", "deployments.csv", "incidents.csv"]
    seeds = {f: _seed(f"process/fourkeys_sample/{f}") for f in names}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
    @given(st.sampled_from(names), st.data())
    def fuzz(victim: str, data: st.DataObject) -> None:
        for f in names:
            (folder / f).write_bytes(seeds[f])
        (folder / victim).write_bytes(data.draw(mutated(seeds[victim])))
        try:
            parse_process(folder, "fourkeys")
        except FleetwiseError as exc:
            assert "fourkeys" in str(exc), str(exc)

    fuzz()


def test_invest_scenario_yaml(tmp_path: Path) -> None:
    seed = b"servers: 4\nutilization: 0.8\ncost_of_capital: 0.1\n"
    path = tmp_path / "scenario.yaml"

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
    @given(mutated(seed))
    def fuzz(blob: bytes) -> None:
        path.write_bytes(blob)
        _check(load_scenario, path)

    fuzz()


def _kineto_seed() -> bytes:
    """A real trace (AMD MI250, 1 rank), decompressed and written one event per line, all
    events with kernels, copies and launches: mutations then hit the JSON, not the gzip."""
    doc = json.loads(
        gzip.decompress(next((DATA / "kineto" / "amd_mi250_minitoy").glob("*.gz")).read_bytes())
    )
    events = doc["traceEvents"]  # 220 events, 60 kB
    head = {k: v for k, v in doc.items() if k != "traceEvents"}
    body = ",\n".join(json.dumps(e) for e in events)
    return (json.dumps(head)[:-1] + ', "traceEvents": [\n' + body + "\n]}\n").encode()


def test_kineto_trace_through_the_whole_analysis(tmp_path: Path) -> None:
    folder = tmp_path / "trace"
    folder.mkdir()
    path = folder / "rank0.json"
    seed = _kineto_seed()

    def analyse(_: Path) -> None:
        report = analyze_trace_set(folder)
        trace_findings(report)

    path.write_bytes(seed)
    analyse(path)  # the seed itself is a valid trace

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
    @given(mutated(seed))
    def fuzz(blob: bytes) -> None:
        path.write_bytes(blob)
        _check(analyse, path)

    fuzz()
