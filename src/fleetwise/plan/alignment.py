"""The stakeholder register, RACI per action and the influence/interest grid.

A register file (``fleetwise stakeholder import FILE.yaml``)::

    schema_version: 1
    programme_lead: Dana Whitfield      # owns the steering updates (optional)
    stakeholders:
      - name: Dana Whitfield
        role: VP Infrastructure
        team: infra
        influence: high                 # low / medium / high, or 1-5
        interest: 5
        stance: supportive              # optional: opposed / neutral / supportive
    raci:
      - action: tune_loader_workers     # a catalog key, an action's title or its slug
        R: [Priya Raman]
        A: Marcus Lee                   # exactly one
        C: [Lena Park]
        I: [Sam Ortiz]

Actions are named as a person names them, never by the store's id: the exact title
(letter case aside), the title's slug (``set-dataloader-num-workers-to-the-measured-best``)
or the key of the catalog entry that seeded it (``tune_loader_workers``), which survives
a change of wording in a title. A name that matches no action, or more than one, is an error.

The grid (Mendelow's power/interest matrix): influence and interest of 4-5 ("high") are
high, 1-3 ("low", "medium") low; high/high: manage closely, high influence only: keep
satisfied, high interest only: keep informed, neither: monitor.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from fleetwise.errors import InputError
from fleetwise.models import Action, Raci, Stakeholder, Stance
from fleetwise.plan import yamlfile
from fleetwise.plan.catalog import load_catalog

Quadrant = Literal["manage closely", "keep satisfied", "keep informed", "monitor"]
QUADRANTS: tuple[Quadrant, ...] = ("manage closely", "keep satisfied", "keep informed", "monitor")
STANCES: tuple[Stance, ...] = ("opposed", "neutral", "supportive")
#: 4 and 5 are "high" on the grid; "medium" (3) sits with the low half, so only people
#: named high (or rated 4-5) take steering time.
HIGH = 4


def quadrant(p: Stakeholder) -> Quadrant:
    """The stakeholder's cell of the influence/interest grid."""
    if p.influence >= HIGH:
        return "manage closely" if p.interest >= HIGH else "keep satisfied"
    return "keep informed" if p.interest >= HIGH else "monitor"


def _names(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Names = Annotated[list[str], BeforeValidator(_names)]


class RaciEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    action: str = Field(min_length=1)
    R: Names = Field(default_factory=list)
    A: Names
    C: Names = Field(default_factory=list)
    I: Names = Field(default_factory=list)  # noqa: E741  # the RACI letter


class _RegisterFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    programme_lead: str = ""
    stakeholders: list[Stakeholder] = Field(default_factory=list)
    raci: list[RaciEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class Register:
    stakeholders: list[Stakeholder]
    raci: list[Raci]
    programme_lead: str = ""


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def match_action(ref: str, actions: Sequence[Action]) -> list[Action]:
    """The actions ``ref`` names: by title, else slug, else catalog key (see the module)."""
    want = ref.strip()
    found = [a for a in actions if a.title.casefold() == want.casefold()]
    if not found:
        found = [a for a in actions if slug(a.title) == slug(want)]
    if not found:
        titles = {
            c.title.casefold()
            for cands in load_catalog().kinds.values()
            for c in cands
            if c.key == want
        }
        found = [a for a in actions if a.title.casefold() in titles]
    return found


def resolve_action(ref: str, actions: Sequence[Action]) -> Action | str:
    """The one action ``ref`` names, or why there is none."""
    found = match_action(ref, actions)
    if len(found) == 1:
        return found[0]
    if not found:
        return f"no action in the backlog matches {ref!r} (a title, its slug or a catalog key)"
    # Several actions of one title: the rejected ones are history, not candidates.
    live = [a for a in found if a.status.value != "rejected"]
    if len(live) == 1:
        return live[0]
    titles = "; ".join(a.title for a in found[:3])
    return f"{ref!r} matches {len(found)} actions ({titles}): use a more specific title"


def check_raci(
    entry: RaciEntry, known: Collection[str]
) -> tuple[list[str], str | None, str | None]:
    """(unknown names, problem with the A, problem with letters held twice)."""
    names = [*entry.R, *entry.A, *entry.C, *entry.I]
    unknown = [n for n in names if n not in known]
    a_problem = None
    if len(entry.A) != 1:
        a_problem = f"exactly one A (accountable) per action, got {len(entry.A)}" + (
            f" ({', '.join(entry.A)})" if entry.A else ""
        )
    twice = None
    for n in dict.fromkeys(names):
        r, a, c, i = (entry.R.count(n), entry.A.count(n), entry.C.count(n), entry.I.count(n))
        # A and R may be one person (a small team); any other double letter is a muddle.
        if r > 1 or c > 1 or i > 1 or (c and i) or ((c or i) and (r or a)):
            twice = f"{n} holds more than one letter on this action (only A and R may go together)"
            break
    return unknown, a_problem, twice


def load_register(path: Path, actions: Sequence[Action]) -> Register:
    """Read and check a register file against the backlog (nothing is stored here)."""
    doc = yamlfile.read(path, "stakeholder")
    parsed = doc.validate(_RegisterFile)
    seen: set[str] = set()
    for i, s in enumerate(parsed.stakeholders):
        if s.name in seen:
            raise doc.error(["stakeholders", i, "name"], f"{s.name!r} is listed twice")
        seen.add(s.name)
    if parsed.programme_lead and parsed.programme_lead not in seen:
        raise doc.error(["programme_lead"], f"{parsed.programme_lead!r} is not a stakeholder")
    out: list[Raci] = []
    done: dict[int, str] = {}
    for i, entry in enumerate(parsed.raci):
        got = resolve_action(entry.action, actions)
        if isinstance(got, str):
            raise doc.error(["raci", i, "action"], got)
        assert got.id is not None
        if got.id in done:
            raise doc.error(["raci", i, "action"], f"{got.title!r} has a RACI already")
        done[got.id] = entry.action
        unknown, a_problem, twice = check_raci(entry, seen)
        if a_problem:
            raise doc.error(["raci", i, "A"], f"{got.title!r}: {a_problem}")
        if unknown:
            raise doc.error(["raci", i], f"unknown stakeholder {unknown[0]!r} (not in the file)")
        if twice:
            raise doc.error(["raci", i], twice)
        out.append(
            Raci(
                action_id=got.id,
                responsible=tuple(entry.R),
                accountable=entry.A[0],
                consulted=tuple(entry.C),
                informed=tuple(entry.I),
            )
        )
    return Register(parsed.stakeholders, out, parsed.programme_lead)


def raci_from_names(
    action: Action,
    responsible: Sequence[str],
    accountable: Sequence[str],
    consulted: Sequence[str],
    informed: Sequence[str],
    known: Collection[str],
) -> Raci:
    """A RACI given on the command line, checked as a file's is."""
    entry = RaciEntry(
        action=action.title,
        R=list(responsible),
        A=list(accountable),
        C=list(consulted),
        I=list(informed),
    )
    unknown, a_problem, twice = check_raci(entry, known)
    if a_problem:
        raise InputError(f"{action.title!r}: {a_problem} (--accountable NAME)")
    if unknown:
        raise InputError(
            f"unknown stakeholder {unknown[0]!r} (fleetwise stakeholder list; "
            "import them with fleetwise stakeholder import FILE)"
        )
    if twice:
        raise InputError(twice)
    assert action.id is not None
    return Raci(
        action_id=action.id,
        responsible=tuple(responsible),
        accountable=accountable[0],
        consulted=tuple(consulted),
        informed=tuple(informed),
    )
