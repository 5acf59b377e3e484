"""A report as one self-contained HTML file (charts inline as SVG images; no network).

Jinja2 autoescapes every value, so a benchmark name, tag or team name that holds markup is
shown as text. Charts go in as ``<img>`` data URIs: an SVG loaded as an image never runs
scripts, whatever text its labels carry.
"""

from __future__ import annotations

import base64
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from fleetwise.errors import InputError
from fleetwise.present import charts
from fleetwise.present.reports.model import Report

_ENV = Environment(
    loader=PackageLoader("fleetwise.present.reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def chart_images(report: Report) -> dict[str, str]:
    """Each chart of the report as an SVG data URI, keyed ``name@section``."""
    out: dict[str, str] = {}
    for section in [*report.summary, *report.sections]:
        for c in section.charts:
            svg = charts.svg_from_spec(c.spec)
            b64 = base64.b64encode(svg.encode()).decode()
            out[f"{c.name}@{section.key}"] = f"data:image/svg+xml;base64,{b64}"
    return out


def to_html(report: Report) -> str:
    return _ENV.get_template("report.html.j2").render(report=report, images=chart_images(report))


def write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``; an unwritable path is the user's input error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the report: {exc.strerror}") from exc
    return path


def render_html(report: Report, path: Path) -> Path:
    """Write the report as HTML to ``path``; returns it."""
    return write(path, to_html(report).encode())
