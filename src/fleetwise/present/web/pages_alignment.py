"""The Alignment page: the stakeholder grid, each stakeholder's stance over time, the open
objections and the communication plan; the same use-case call as ``fleetwise alignment``
and the briefing's alignment sections."""

from __future__ import annotations

from datetime import date

from fleetwise.models import SCHEMA_VERSION
from fleetwise.present.web.page import Page
from fleetwise.present.web.reader import StoreReader
from fleetwise.usecases.alignment import AlignmentView, alignment_view


class AlignmentPage(AlignmentView):
    schema_version: int = SCHEMA_VERSION
    #: Meeting dates, oldest first: the columns of the stances-over-time table.
    stance_dates: list[date]


def alignment_page(reader: StoreReader, today: date) -> Page[AlignmentPage]:
    view = alignment_view(reader.store, today)
    dates = sorted({p.day for v in view.stakeholders for p in v.history if p.day is not None})
    return Page(AlignmentPage(**view.model_dump(), stance_dates=dates))
