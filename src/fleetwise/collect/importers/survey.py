"""Survey exports: CSV files of Google Forms, Microsoft Forms and Typeform, and the question
map that says what each question measures.

The three tools write one row per response and the question text as the header, with their
own metadata columns around it:

- Google Forms: ``Timestamp`` first (``Email Address`` when the form collects it);
- Microsoft Forms: ``ID``, ``Start time``, ``Completion time``, ``Email``, ``Name`` (and
  ``Last modified time`` in newer exports) before the questions;
- Typeform: ``#`` first, the questions, then ``Start Date (UTC)``, ``Submit Date (UTC)``,
  ``Network ID`` (and ``Tags``).

``sniff`` tells them apart from the header; anything else is refused. Names and e-mail
addresses are never kept: a respondent is the row's line in the file.

The question map (YAML) names each item's scale (``likert5``, ``likert7``, ``nps0-10`` or
``text``) and the construct it measures (the SPACE / DX themes: flow, feedback loops,
cognitive load, on-call health...); ``reverse: true`` marks a negatively worded item, whose
answers are turned around before a construct is scored. Likert answers may be the label
("Strongly agree") or the number ("5", "5 - Strongly agree"). Without a map every question
is a free-text item unless all its answers are on one scale.

Every problem raises ``InputError`` with one line: ``file:line:column: problem`` (the column
is the field's 1-based position in the row).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fleetwise.errors import InputError
from fleetwise.textfile import read_text

SurveyFormat = Literal["google-forms", "microsoft-forms", "typeform"]
Scale = Literal["likert5", "likert7", "nps0-10", "text"]

#: Lowest and highest value of each numeric scale.
SCALE_RANGE: dict[str, tuple[int, int]] = {"likert5": (1, 5), "likert7": (1, 7), "nps0-10": (0, 10)}

_LIKERT5 = {
    "strongly disagree": 1,
    "disagree": 2,
    "neither agree nor disagree": 3,
    "neither agree or disagree": 3,
    "neutral": 3,
    "agree": 4,
    "strongly agree": 5,
}
_LIKERT7 = {
    "strongly disagree": 1,
    "disagree": 2,
    "somewhat disagree": 3,
    "slightly disagree": 3,
    "neither agree nor disagree": 4,
    "neither agree or disagree": 4,
    "neutral": 4,
    "somewhat agree": 5,
    "slightly agree": 5,
    "agree": 6,
    "strongly agree": 7,
}
LABELS: dict[str, dict[str, int]] = {"likert5": _LIKERT5, "likert7": _LIKERT7}

#: Metadata columns of each tool (compared case-insensitively); the rest are questions.
_META: dict[str, set[str]] = {
    "google-forms": {"timestamp", "email address", "score"},
    "microsoft-forms": {
        "id",
        "start time",
        "completion time",
        "email",
        "name",
        "last modified time",
        "total points",
        "quiz feedback",
    },
    "typeform": {
        "#",
        "start date (utc)",
        "submit date (utc)",
        "network id",
        "tags",
        "response type",
    },
}
_TIME_COLUMN = {
    "google-forms": "timestamp",
    "microsoft-forms": "completion time",
    "typeform": "submit date (utc)",
}
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%y %H:%M",
    "%Y/%m/%d %I:%M:%S %p",
    "%Y/%m/%d %H:%M:%S",
)


def normalise(text: str) -> str:
    """A question or label as compared: case, outer spaces and runs of spaces ignored."""
    return re.sub(r"\s+", " ", text).strip().lower()


class MapItem(BaseModel):
    """One question of the map."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    question: str = Field(min_length=1)
    key: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    scale: Scale
    #: ``construct`` in the file (the name would shadow ``BaseModel.construct``).
    construct_name: str = Field(default="", alias="construct")
    reverse: bool = False


class QuestionMap(BaseModel):
    """What the questions measure; ``team_question`` names the question whose answer is the
    respondent's team (kept, never scored)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    survey: str = ""
    team_question: str = ""
    items: list[MapItem] = Field(min_length=1)


@dataclass(frozen=True)
class SurveyResponse:
    #: The line of the file the response starts on (a respondent's only identity).
    line: int
    submitted_at: datetime
    team: str
    #: Item key -> the number on its scale (reverse items as answered) or the text given.
    answers: dict[str, float | str]


@dataclass(frozen=True)
class SurveyExport:
    path: Path
    format: SurveyFormat
    items: list[MapItem]
    responses: list[SurveyResponse] = field(default_factory=list)


def sniff(header: Sequence[str]) -> SurveyFormat | None:
    """Which tool wrote a CSV with this header row, or None."""
    names = [normalise(h) for h in header]
    if names and names[0] == "timestamp":
        return "google-forms"
    if names[:3] == ["id", "start time", "completion time"]:
        return "microsoft-forms"
    if names and names[0] == "#" and "submit date (utc)" in names:
        return "typeform"
    return None


def parse_time(text: str) -> datetime | None:
    """A submission time as the three tools write it; without an offset, UTC."""
    raw = text.strip()
    m = re.search(r"\s*(?:GMT|UTC)([+-]\d{1,2})(?::?(\d{2}))?$", raw)
    offset_min = 0
    if m:
        sign = -1 if m.group(1).startswith("-") else 1
        offset_min = sign * (abs(int(m.group(1))) * 60 + int(m.group(2) or 0))
        raw = raw[: m.start()]
    raw = raw.removesuffix(" UTC").removesuffix(" GMT").removesuffix("Z")
    for fmt in _TIME_FORMATS:
        try:
            naive = datetime.strptime(raw, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=UTC) - timedelta(minutes=offset_min)
    return None


def scale_value(scale: str, text: str) -> float | None:
    """The number ``text`` stands for on ``scale``; None when it is not on it."""
    lo, hi = SCALE_RANGE[scale]
    raw = normalise(text)
    m = re.fullmatch(r"(-?\d+(?:\.0+)?)(?:\s*[-–:]\s*(.+))?", raw)
    if m:
        value = float(m.group(1))
        label = m.group(2)
        in_range = lo <= value <= hi and value.is_integer()
        same = label is None or LABELS.get(scale, {}).get(label) == value
        return value if in_range and same else None
    number = LABELS.get(scale, {}).get(raw)
    return float(number) if number is not None else None


def _expected(scale: str) -> str:
    lo, hi = SCALE_RANGE[scale]
    if scale in LABELS:
        return f"{lo}-{hi} or Strongly disagree..Strongly agree"
    return f"a whole number {lo}-{hi}"


def _infer(values: list[str]) -> Scale:
    """The scale every answer of an unmapped question is on (likert5 first), else text."""
    given = [v for v in values if v.strip()]
    if not given:
        return "text"
    for scale in ("likert5", "likert7", "nps0-10"):
        if all(scale_value(scale, v) is not None for v in given):
            numeric = [scale_value(scale, v) or 0.0 for v in given]
            # Plain numbers up to 5 read as likert5; a 0 or a number above 7 is NPS.
            if scale == "likert7" and max(numeric) <= 5:
                continue
            return scale
    return "text"


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line the record starts on, its fields); quoted fields may span lines."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                out.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from exc
    return out


def parse(
    path: Path, qmap: QuestionMap | None = None, map_path: Path | None = None
) -> SurveyExport:
    """Read a survey export; with ``qmap`` every mapped question must be in the header."""
    rows = _rows(path)
    if not rows:
        raise InputError(f"{path}: empty file, expected a survey export with a header row")
    _, header = rows[0]
    fmt = sniff(header)
    if fmt is None:
        raise InputError(
            f"{path}:1:1: not a Google Forms, Microsoft Forms or Typeform CSV export (expected "
            "a first column 'Timestamp', 'ID, Start time, Completion time', or '#' with "
            "'Submit Date (UTC)')"
        )
    names = [normalise(h) for h in header]
    time_col = names.index(_TIME_COLUMN[fmt])
    questions = [i for i, n in enumerate(names) if n not in _META[fmt]]
    for i in questions:
        if not names[i]:
            raise InputError(f"{path}:1:{i + 1}: a question column without a header")
    team_col: int | None = None
    items: list[tuple[int, MapItem]] = []
    if qmap is not None:
        where = map_path or Path("question map")
        if qmap.team_question:
            if normalise(qmap.team_question) not in names:
                raise InputError(
                    f"{where}: team_question {qmap.team_question!r} is not a column of {path}"
                )
            team_col = names.index(normalise(qmap.team_question))
        for item in qmap.items:
            q = normalise(item.question)
            if q not in names:
                raise InputError(
                    f"{where}: item {item.key}: question {item.question!r} is not a column "
                    f"of {path}"
                )
            if names.count(q) > 1:
                cols = ", ".join(str(i + 1) for i, n in enumerate(names) if n == q)
                raise InputError(
                    f"{path}:1: question {item.question!r} heads columns {cols}: the map "
                    "cannot tell them apart (rename one in the form)"
                )
            items.append((names.index(q), item))
        mapped = {c for c, _ in items} | ({team_col} if team_col is not None else set())
        for col in questions:
            if col not in mapped:
                key = f"q{col + 1}"
                items.append((col, MapItem(question=header[col].strip(), key=key, scale="text")))
    else:
        for col in questions:
            values = [f[col] if col < len(f) else "" for _, f in rows[1:]]
            scale = _infer(values)
            items.append(
                (col, MapItem(question=header[col].strip(), key=f"q{col + 1}", scale=scale))
            )
    items.sort(key=lambda ci: ci[0])
    responses = []
    for line, fields in rows[1:]:
        if len(fields) != len(header):
            raise InputError(
                f"{path}:{line}:{min(len(fields), len(header)) + 1}: {len(fields)} fields, "
                f"the header has {len(header)}"
            )
        when = parse_time(fields[time_col])
        if when is None:
            raise InputError(
                f"{path}:{line}:{time_col + 1}: {fields[time_col]!r} is not a time "
                "(e.g. 2026-10-05 09:14:03 or 10/5/2026 9:14:03)"
            )
        answers: dict[str, float | str] = {}
        for col, item in items:
            raw = fields[col]
            if not raw.strip():
                continue
            if item.scale == "text":
                answers[item.key] = raw.strip()
                continue
            value = scale_value(item.scale, raw)
            if value is None:
                raise InputError(
                    f"{path}:{line}:{col + 1}: {raw.strip()!r} is not on the {item.scale} scale "
                    f"of {item.question!r} (expected {_expected(item.scale)})"
                )
            answers[item.key] = value
        team = fields[team_col].strip() if team_col is not None else ""
        responses.append(SurveyResponse(line=line, submitted_at=when, team=team, answers=answers))
    if not responses:
        raise InputError(f"{path}: no responses below the header")
    return SurveyExport(path=path, format=fmt, items=[i for _, i in items], responses=responses)
