"""An iCalendar (RFC 5545) writer for all-day events: the communication plan's export.

Written by hand because the format is small and its traps are few and exact:
content lines end in CRLF (3.1); a line longer than 75 octets is folded by CRLF and one
space, never inside a UTF-8 sequence (3.1); TEXT values escape backslash, semicolon,
comma and newline (3.3.11); an all-day event has DTSTART;VALUE=DATE and DTEND the day
after (3.6.1, DTEND is exclusive); every event has a UID and a DTSTAMP in UTC (3.6.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

CRLF = "\r\n"
#: Octets per content line before folding (RFC 5545 3.1), CRLF excluded.
LINE_OCTETS = 75
PRODID = "-//fleetwise//communication plan//EN"


@dataclass(frozen=True)
class CalendarEvent:
    day: date
    summary: str
    description: str = ""
    categories: tuple[str, ...] = ()
    #: Stable identity across exports, so a calendar updates an event instead of adding one.
    uid_seed: str = ""


def escape_text(value: str) -> str:
    """A TEXT value escaped (RFC 5545 3.3.11); CRLF and CR become a newline first."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def unescape_text(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def fold(line: str) -> str:
    """``line`` folded into pieces of at most 75 octets (continuations start with a space,
    which counts), joined by CRLF; a character is never split across pieces."""
    pieces: list[str] = []
    current: list[str] = []
    size, limit = 0, LINE_OCTETS
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, LINE_OCTETS - 1
        current.append(ch)
        size += n
    pieces.append("".join(current))
    return (CRLF + " ").join(pieces)


def unfold(text: str) -> str:
    """Folded content lines joined back (RFC 5545 3.1: CRLF followed by one space or tab)."""
    return text.replace(CRLF + " ", "").replace(CRLF + "\t", "")


def _uid(event: CalendarEvent) -> str:
    seed = event.uid_seed or f"{event.day}|{event.summary}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32] + "@fleetwise"


def calendar(events: Sequence[CalendarEvent], stamp: datetime, name: str = "") -> str:
    """The VCALENDAR text of ``events``; ``stamp`` (UTC) is every event's DTSTAMP."""
    utc = stamp.strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if name:
        lines.append(f"X-WR-CALNAME:{escape_text(name)}")
    for e in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_uid(e)}",
            f"DTSTAMP:{utc}",
            f"DTSTART;VALUE=DATE:{e.day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{e.day + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{escape_text(e.summary)}",
        ]
        if e.description:
            lines.append(f"DESCRIPTION:{escape_text(e.description)}")
        if e.categories:
            lines.append("CATEGORIES:" + ",".join(escape_text(c) for c in e.categories))
        lines += ["TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)
