"""Themes of interview and shadowing notes, and the qualitative evidence they give.

A theme is a tag; it counts the notes that carry it, by method and by team. A note's
``links`` make a theme evidence for a finding kind or an action: the finding then shows
"3 interviews, 2 teams" beside its numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel

from fleetwise.collect.importers.notes import Note

#: How a count of notes of each method reads ("3 interviews").
_PLURAL = {
    "interview": ("interview", "interviews"),
    "shadowing": ("shadowing session", "shadowing sessions"),
    "focus-group": ("focus group", "focus groups"),
    "workshop": ("workshop", "workshops"),
}


class Theme(BaseModel):
    tag: str
    notes: int
    by_method: dict[str, int]
    by_team: dict[str, int]
    first: date
    last: date
    #: ``finding:<kind>`` / ``action:<title>`` it is evidence for.
    links: list[str]
    quote: str = ""


class Evidence(BaseModel):
    """The notes behind a finding or an action."""

    target: str
    notes: int
    by_method: dict[str, int]
    teams: list[str]
    tags: list[str]
    text: str


def plural(method: str, n: int) -> str:
    one, many = _PLURAL.get(method, (method, f"{method}s"))
    return f"{n} {one if n == 1 else many}"


def describe(by_method: dict[str, int], teams: int) -> str:
    """``3 interviews, 1 shadowing session, 2 teams``."""
    parts = [plural(m, n) for m, n in sorted(by_method.items(), key=lambda kv: (-kv[1], kv[0]))]
    parts.append(f"{teams} team" + ("" if teams == 1 else "s"))
    return ", ".join(parts)


def _count(values: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def themes(notes: Sequence[Note]) -> list[Theme]:
    """Every tag with its counts, the most mentioned first."""
    by_tag: dict[str, list[Note]] = {}
    for n in notes:
        for t in n.tags:
            by_tag.setdefault(t, []).append(n)
    out = []
    for tag, found in by_tag.items():
        links = sorted({target for n in found for target in n.links.get(tag, [])})
        quote = next((n.quotes[tag] for n in found if tag in n.quotes), "")
        out.append(
            Theme(
                tag=tag,
                notes=len(found),
                by_method=_count([n.method for n in found]),
                by_team=_count([n.team for n in found]),
                first=min(n.held_on for n in found),
                last=max(n.held_on for n in found),
                links=links,
                quote=quote,
            )
        )
    return sorted(out, key=lambda t: (-t.notes, t.tag))


def evidence(notes: Sequence[Note], target: str) -> Evidence | None:
    """The notes whose themes are linked to ``target`` (``finding:<kind>``, ``action:<title>``);
    None when none is."""
    found: list[Note] = []
    tags: set[str] = set()
    for n in notes:
        linked = [t for t, targets in n.links.items() if target in targets]
        if linked:
            found.append(n)
            tags.update(linked)
    if not found:
        return None
    by_method = _count([n.method for n in found])
    teams = sorted({n.team for n in found})
    return Evidence(
        target=target,
        notes=len(found),
        by_method=by_method,
        teams=teams,
        tags=sorted(tags),
        text=describe(by_method, len(teams)),
    )


def all_evidence(notes: Sequence[Note]) -> dict[str, Evidence]:
    """Evidence for every target any note links to."""
    targets = {t for n in notes for ts in n.links.values() for t in ts}
    out = {}
    for t in sorted(targets):
        ev = evidence(notes, t)
        if ev is not None:
            out[t] = ev
    return out
