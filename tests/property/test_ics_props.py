"""The iCalendar writer (present.ics) against RFC 5545 and an independent parser
(``icalendar``): folding keeps every line within 75 octets and unfolds to the original,
TEXT escaping round-trips, and any calendar it writes parses back to the same events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.present.ics import (
    CRLF,
    LINE_OCTETS,
    CalendarEvent,
    calendar,
    escape_text,
    fold,
    unescape_text,
    unfold,
)

#: Any text a person may type: accents, CJK, emoji (4-byte UTF-8), separators and newlines;
#: no other control characters, which RFC 5545 TEXT does not allow.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n;,\\:\"'"),
    max_size=300,
)
STAMP = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=600))
def test_fold_keeps_lines_short_and_unfolds_to_the_original(line: str) -> None:
    folded = fold(line)
    for piece in folded.split(CRLF):
        assert len(piece.encode("utf-8")) <= LINE_OCTETS
    assert all(p.startswith(" ") for p in folded.split(CRLF)[1:])
    assert unfold(folded) == line


@given(TEXT)
def test_escaping_round_trips_and_leaves_no_bare_separator(text: str) -> None:
    escaped = escape_text(text)
    assert "\n" not in escaped
    assert unescape_text(escaped) == text
    # every ; and , is escaped (preceded by an odd run of backslashes)
    for i, ch in enumerate(escaped):
        if ch in ";,":
            run = len(escaped[:i]) - len(escaped[:i].rstrip("\\"))
            assert run % 2 == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
            TEXT.filter(lambda t: t.strip() != ""),
            TEXT,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_icalendar_parses_what_we_write(items: list[tuple[date, str, str]]) -> None:
    events = [
        CalendarEvent(
            day=d, summary=s, description=desc, categories=("kickoff", "a,b"), uid_seed=f"{i}"
        )
        for i, (d, s, desc) in enumerate(items)
    ]
    text = calendar(events, STAMP, name="plan; v1")
    assert text.endswith(CRLF) and "\n" not in text.replace(CRLF, "")
    parsed = icalendar.Calendar.from_ical(text)
    got = list(parsed.walk("VEVENT"))
    assert len(got) == len(events)
    uids = set()
    for e, ev in zip(events, got, strict=True):
        assert ev.decoded("DTSTART") == e.day
        assert ev.decoded("DTEND") == e.day + timedelta(days=1)
        assert str(ev.get("SUMMARY")) == e.summary.replace("\r\n", "\n").replace("\r", "\n")
        if e.description:
            want = e.description.replace("\r\n", "\n").replace("\r", "\n")
            assert str(ev.get("DESCRIPTION")) == want
        assert ev.decoded("DTSTAMP") == STAMP
        uids.add(str(ev.get("UID")))
    assert len(uids) == len(events)


def test_a_known_calendar_byte_for_byte() -> None:
    event = CalendarEvent(
        day=date(2026, 12, 7),
        summary="[kickoff] Reclaim idle GPUs; pilot, shared pool",
        description="Kick off.\nAudience: Ann, Bob",
        uid_seed="x",
    )
    text = calendar([event], STAMP)
    assert text.split(CRLF)[5:12] == [
        "UID:2d711642b726b04401627ca9fbac32f5@fleetwise",
        "DTSTAMP:20261207T093000Z",
        "DTSTART;VALUE=DATE:20261207",
        "DTEND;VALUE=DATE:20261208",
        "SUMMARY:[kickoff] Reclaim idle GPUs\\; pilot\\, shared pool",
        "DESCRIPTION:Kick off.\\nAudience: Ann\\, Bob",
        "TRANSP:TRANSPARENT",
    ]
