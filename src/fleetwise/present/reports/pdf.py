"""A report as PDF: the HTML rendering laid out by WeasyPrint (A4, summary on page one)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from fleetwise.errors import MissingDependencyError
from fleetwise.present.reports.html import to_html, write
from fleetwise.present.reports.model import Report


def _weasyprint() -> Any:
    # Imported by name: WeasyPrint ships no type information, and it is an optional extra.
    try:
        return importlib.import_module("weasyprint")
    except ImportError as exc:
        raise MissingDependencyError("weasyprint", "reports") from exc


def to_pdf(report: Report) -> bytes:
    pdf: bytes = _weasyprint().HTML(string=to_html(report)).write_pdf()
    return pdf


def render_pdf(report: Report, path: Path) -> Path:
    """Write the report as PDF to ``path``; returns it."""
    return write(path, to_pdf(report))
