"""The alignment log and the communication plan as people read them: the text report of
``fleetwise alignment``, the Markdown and iCalendar exports of ``fleetwise comms plan``,
the briefing's alignment and communication sections, and the objections stakeholders
raised in meetings (for the briefing's objections section)."""

from __future__ import annotations

from datetime import datetime

from fleetwise.present.ics import CalendarEvent, calendar
from fleetwise.present.reports.facts import Facts
from fleetwise.present.reports.model import Figure, Item, Section, Table, absent
from fleetwise.usecases.alignment import HORIZON_WEEKS, AlignmentView, CommsRow

NO_REGISTER = (
    "no stakeholder register: fleetwise stakeholder import FILE, then fleetwise meeting add FILE"
)


def count(k: int) -> str:
    """A whole number of people, messages or meetings (``units.count`` is for quantities:
    it writes 3 as 3.00)."""
    return f"{k:,}"


def _n(k: int, noun: str) -> str:
    return f"{count(k)} {noun}{'' if k == 1 else 's'}"


def _stance_path(points: list[str]) -> str:
    out: list[str] = []
    for p in points:
        if not out or out[-1] != p:
            out.append(p)
    return " -> ".join(out) if out else "unknown"


def alignment_lines(view: AlignmentView) -> list[str]:
    """The alignment log, per stakeholder: grid, stance over time, what they asked (and the
    answer), what they decided, their RACI."""
    if not view.stakeholders:
        return [NO_REGISTER]
    counts = view.stance_counts
    lines = [
        f"alignment as of {view.today}: {len(view.stakeholders)} stakeholders, "
        f"{_n(len(view.meetings), 'meeting')}; supportive {counts['supportive']}, neutral "
        f"{counts['neutral']}, opposed {counts['opposed']}, unknown {counts['unknown']}; "
        f"{_n(view.stance_moves, 'stance move')}; {len(view.open_objections)} of "
        f"{_n(view.objections_total, 'objection')} open",
        "grid: " + "; ".join(f"{q} {len(n)}" for q, n in view.grid.items()),
    ]
    for v in view.stakeholders:
        lines.append("")
        lines.append(
            f"{v.name} ({v.role}, {v.team}) - {v.quadrant}, stance {v.stance or 'unknown'}"
        )
        if v.history:
            steps = [
                f"{p.stance} ({p.day or 'register'}{': ' + p.note if p.note else ''})"
                for p in v.history
            ]
            lines.append("  stance: " + " -> ".join(steps))
        for a in v.asked:
            about = f" [{a.action}]" if a.action else ""
            lines.append(f"  asked {a.day} ({a.meeting}){about}: {a.text}")
            if a.open:
                lines.append("    OPEN: no answer yet")
            else:
                who = f" {a.answered_by}" if a.answered_by else ""
                lines.append(f"    answered {a.answered_on}{who}: {a.answer}")
        for d in v.decided:
            note = f": {d.note}" if d.note else ""
            lines.append(f"  decided {d.day} ({d.meeting}): {d.decision} '{d.action}'{note}")
        for title, letters in v.raci.items():
            lines.append(f"  RACI {letters}: {title}")
    return lines


# -- the communication plan ------------------------------------------------------------------
def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def comms_markdown(view: AlignmentView) -> str:
    """The communication plan as a Markdown document (a table, its rules, its gaps)."""
    out = [
        f"# Communication plan (from {view.today})",
        "",
        f"Made by fleetwise from the rollout schedule and each action's RACI; programme lead "
        f"{view.programme_lead or '(none)'}. Rules: C are consulted 5 working days before a "
        "start, A and R kick off on the start day and review on the end day, I and C hear "
        "the announcement the next working day on their grid quadrant's channel, "
        "high-influence stakeholders get a steering update every two weeks.",
        "",
    ]
    if not view.comms:
        out.append("No messages: no approved work is scheduled from this day on.")
    else:
        out += [
            "| date | kind | about | audience | channel | owner | message |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in view.comms:
            msg = c.message + (f" ({c.note})" if c.note else "")
            cells = [
                str(c.day),
                c.kind,
                c.action or "all work in flight",
                ", ".join(c.audience),
                c.channel,
                c.owner,
                msg,
            ]
            out.append("| " + " | ".join(_md_cell(x) for x in cells) + " |")
    if view.without_raci:
        out += ["", "Scheduled without a RACI (no one is told): " + "; ".join(view.without_raci)]
    if view.blocked:
        out += ["", "Blocked (no dates yet): " + "; ".join(view.blocked)]
    return "\n".join(out) + "\n"


def _summary(c: CommsRow) -> str:
    about = c.action or "steering update"
    return f"[{c.kind}] {about} - {c.channel}"


def comms_ics(view: AlignmentView, stamp: datetime) -> str:
    """The communication plan as an iCalendar file: one all-day event per message."""
    events = [
        CalendarEvent(
            day=c.day,
            summary=_summary(c),
            description=(
                f"{c.message}\nAudience: {', '.join(c.audience)}\nOwner: {c.owner}"
                + (f"\nNote: {c.note}" if c.note else "")
            ),
            categories=(c.kind, c.channel),
            uid_seed=f"{c.kind}|{c.action}|{c.channel}|{','.join(c.audience)}|{c.day}",
        )
        for c in view.comms
    ]
    return calendar(events, stamp, name="fleetwise communication plan")


# -- the briefing ----------------------------------------------------------------------------
def section(view: AlignmentView | None, why: str = NO_REGISTER) -> Section:
    """Alignment status: the grid, stances and their moves, open objections."""
    title = "Stakeholder alignment"
    if view is None or not view.stakeholders:
        return absent("alignment", title, why if view is None else NO_REGISTER)
    src = "fleetwise alignment"
    c = view.stance_counts
    n = len(view.stakeholders)
    figures = [
        Figure(
            key="alignment.supportive",
            label="supportive",
            value=c["supportive"],
            text=f"{count(c['supportive'])} of {count(n)}",
            source=src,
        ),
        Figure(
            key="alignment.opposed",
            label="opposed",
            value=c["opposed"],
            text=f"{count(c['opposed'])} of {count(n)}",
            source=src,
        ),
        Figure(
            key="alignment.stance_moves",
            label="stance moves",
            value=view.stance_moves,
            text=count(view.stance_moves),
            source=src,
        ),
        Figure(
            key="alignment.open_objections",
            label="open objections",
            value=len(view.open_objections),
            text=f"{count(len(view.open_objections))} of {count(view.objections_total)}",
            source=src,
        ),
    ]
    rows = [
        [
            v.name,
            v.role,
            v.quadrant,
            _stance_path([p.stance for p in v.history]),
            str(sum(a.open for a in v.asked)),
        ]
        for v in view.stakeholders
    ]
    items = [
        Item(
            title=f"Open: {o.text}",
            lines=[f"raised by {o.by} on {o.day} ({o.meeting})"]
            + ([f"about: {o.action}"] if o.action else []),
            source=src,
        )
        for o in view.open_objections[:3]
    ]
    paragraphs = [
        f"{c['supportive']} of {n} stakeholders supportive, {c['neutral']} neutral, "
        f"{c['opposed']} opposed ({c['unknown']} unknown) after "
        f"{_n(len(view.meetings), 'meeting')}; {_n(view.stance_moves, 'stance move')}; "
        f"{len(view.open_objections)} of {_n(view.objections_total, 'objection')} still open.",
        "Grid: " + "; ".join(f"{q}: {', '.join(ns) or '-'}" for q, ns in view.grid.items()) + ".",
    ]
    return Section(
        key="alignment",
        title=title,
        paragraphs=paragraphs,
        figures=figures,
        items=items,
        tables=[
            Table(
                title="stakeholders: grid and stance over time",
                columns=["name", "role", "grid", "stance over time", "open objections"],
                rows=rows,
                source=src,
            )
        ],
    )


def comms_section(view: AlignmentView | None, why: str = NO_REGISTER) -> Section:
    """The communication plan's next weeks."""
    title = f"Communication plan (next {HORIZON_WEEKS} weeks)"
    if view is None or not view.stakeholders:
        return absent("comms", title, why if view is None else NO_REGISTER)
    rows = view.comms_within()
    if not rows:
        return absent(
            "comms",
            title,
            "no message due: approve actions (fleetwise decide, or a meeting's decisions) "
            "and give them a RACI (fleetwise stakeholder raci)",
        )
    src = "fleetwise comms plan"
    table = Table(
        title="who hears what, when, on which channel",
        columns=["date", "kind", "about", "audience", "channel", "owner"],
        rows=[
            [
                str(c.day),
                c.kind,
                c.action or "all work in flight",
                ", ".join(c.audience),
                c.channel,
                c.owner,
            ]
            for c in rows
        ],
        source=src,
    )
    paragraphs = [
        f"{len(rows)} messages from {rows[0].day} to {rows[-1].day} "
        f"({len(view.comms)} in the whole plan); owner of the steering updates: "
        f"{view.programme_lead or '(none)'}. Export: fleetwise comms plan --format ics -o FILE."
    ]
    if view.without_raci:
        paragraphs.append("Scheduled without a RACI: " + "; ".join(view.without_raci) + ".")
    return Section(
        key="comms",
        title=title,
        paragraphs=paragraphs,
        figures=[
            Figure(
                key="comms.messages",
                label="messages in the next weeks",
                value=len(rows),
                text=count(len(rows)),
                source=src,
            )
        ],
        tables=[table],
    )


def sections(facts: Facts) -> list[Section]:
    """The briefing's alignment status and communication plan."""
    why = facts.why_absent("alignment", NO_REGISTER)
    return [section(facts.alignment, why), comms_section(facts.alignment, why)]


def meeting_objections(view: AlignmentView | None) -> list[Item]:
    """What stakeholders asked in meetings, open ones first (the objections section)."""
    if view is None:
        return []
    asked = [(v.name, a) for v in view.stakeholders for a in v.asked]
    if not asked:
        return []
    asked.sort(key=lambda p: (not p[1].open, p[1].day, p[0]))
    lines = []
    for name, a in asked:
        about = f" [{a.action}]" if a.action else ""
        if a.open:
            lines.append(f"OPEN - {name}, {a.day}{about}: {a.text}")
        else:
            who = f" ({a.answered_by})" if a.answered_by else ""
            lines.append(f"{name}, {a.day}{about}: {a.text} - answered{who}: {a.answer}")
    open_n = sum(a.open for _, a in asked)
    return [
        Item(
            title=f"What stakeholders asked ({open_n} of {len(asked)} open)",
            lines=lines,
            source="fleetwise alignment (meetings)",
        )
    ]
