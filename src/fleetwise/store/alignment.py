"""The stakeholder register, RACI, meetings and stances in the store (a ``Store`` mixin).

Importing a register adds or updates stakeholders by name (none is deleted: meetings name
them) and replaces the RACI of each action it names. Adding a meeting replaces the stored
meeting with the same key, its stances with it, in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fleetwise.models import Meeting, Raci, Stakeholder
from fleetwise.store.schema import MeetingRow, RaciRow, StakeholderRow, StanceRow
from fleetwise.timeutil import as_utc


@dataclass(frozen=True)
class StoredMeeting:
    id: int
    meeting: Meeting
    source: str
    #: Decision-log ids this meeting's decisions were logged under, by decision key.
    logged: dict[str, int]


@dataclass(frozen=True)
class StanceRecord:
    stakeholder: str
    day: date
    stance: str
    meeting: str
    note: str


def _day(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


def _stakeholder(row: StakeholderRow) -> Stakeholder:
    return Stakeholder(
        id=row.id,
        name=row.name,
        role=row.role,
        team=row.team,
        influence=row.influence,
        interest=row.interest,
        stance=row.stance,  # type: ignore[arg-type]  # validated by pydantic
    )


def _ids(s: Session) -> dict[str, int]:
    return {n: i for n, i in s.execute(select(StakeholderRow.name, StakeholderRow.id))}


class AlignmentStore:
    """What ``Store`` keeps of the people side: mixed into the facade."""

    def _session(self) -> AbstractContextManager[Session]:  # pragma: no cover - Store's
        raise NotImplementedError

    def save_register(
        self, people: Sequence[Stakeholder], racis: Sequence[Raci], programme_lead: str = ""
    ) -> tuple[int, int]:
        """Add or update ``people`` and replace the RACI of each action in ``racis``, in one
        transaction; returns (stakeholders added, updated)."""
        added = updated = 0
        with self._session() as s:
            rows = {r.name: r for r in s.execute(select(StakeholderRow)).scalars()}
            for p in people:
                row = rows.get(p.name)
                if row is None:
                    row = StakeholderRow(name=p.name, created_at=datetime.now(UTC), data={})
                    s.add(row)
                    added += 1
                else:
                    updated += 1
                row.role, row.team, row.stance = p.role, p.team, p.stance
                row.influence, row.interest = p.influence, p.interest
            if programme_lead:
                for row in s.execute(select(StakeholderRow)).scalars():
                    row.data = {**(row.data or {}), "programme_lead": row.name == programme_lead}
            s.flush()
            self._replace_raci(s, racis)
        return added, updated

    def save_raci(self, raci: Raci) -> None:
        with self._session() as s:
            self._replace_raci(s, [raci])

    @staticmethod
    def _replace_raci(s: Session, racis: Sequence[Raci]) -> None:
        ids = _ids(s)
        for r in racis:
            s.execute(delete(RaciRow).where(RaciRow.action_id == r.action_id))
            s.flush()
            for role, name in dict.fromkeys(r.letters()):
                s.add(RaciRow(action_id=r.action_id, stakeholder_id=ids[name], role=role))
        s.flush()

    def stakeholders(self) -> list[Stakeholder]:
        with self._session() as s:
            stmt = select(StakeholderRow).order_by(StakeholderRow.id)
            return [_stakeholder(r) for r in s.execute(stmt).scalars()]

    def programme_lead(self) -> str:
        with self._session() as s:
            for row in s.execute(select(StakeholderRow)).scalars():
                if (row.data or {}).get("programme_lead"):
                    return row.name
        return ""

    def racis(self) -> dict[int, Raci]:
        """Each action's RACI by action id (actions without one are absent)."""
        with self._session() as s:
            names = {i: n for n, i in _ids(s).items()}
            by_action: dict[int, dict[str, list[str]]] = {}
            stmt = select(RaciRow).order_by(RaciRow.action_id, RaciRow.role, RaciRow.stakeholder_id)
            for row in s.execute(stmt).scalars():
                letters = by_action.setdefault(row.action_id, {"R": [], "A": [], "C": [], "I": []})
                letters[row.role].append(names[row.stakeholder_id])
        return {
            aid: Raci(
                action_id=aid,
                responsible=tuple(v["R"]),
                accountable=v["A"][0],
                consulted=tuple(v["C"]),
                informed=tuple(v["I"]),
            )
            for aid, v in by_action.items()
            if v["A"]
        }

    def meeting(self, key: str) -> StoredMeeting | None:
        with self._session() as s:
            row = s.execute(select(MeetingRow).where(MeetingRow.key == key)).scalar_one_or_none()
            return _stored(row) if row is not None else None

    def save_meeting(self, meeting: Meeting, source: str, logged: dict[str, int]) -> int:
        """Insert the meeting, or replace the one with its key, and its stances."""
        with self._session() as s:
            row = s.execute(
                select(MeetingRow).where(MeetingRow.key == meeting.key)
            ).scalar_one_or_none()
            if row is None:
                row = MeetingRow(key=meeting.key, created_at=datetime.now(UTC))
                s.add(row)
            row.held_on, row.title, row.source = _day(meeting.date), meeting.title, source
            row.data = {"meeting": meeting.model_dump(mode="json"), "logged": logged}
            s.flush()
            s.execute(delete(StanceRow).where(StanceRow.meeting_id == row.id))
            ids = _ids(s)
            for st in meeting.stances:
                s.add(
                    StanceRow(
                        stakeholder_id=ids[st.stakeholder],
                        meeting_id=row.id,
                        held_on=_day(meeting.date),
                        stance=st.stance,
                        note=st.note,
                    )
                )
            s.flush()
            return row.id

    def meetings(self) -> list[StoredMeeting]:
        """Meetings oldest first."""
        with self._session() as s:
            stmt = select(MeetingRow).order_by(MeetingRow.held_on, MeetingRow.id)
            return [_stored(r) for r in s.execute(stmt).scalars()]

    def stances(self) -> list[StanceRecord]:
        """Every stance a meeting recorded, oldest first."""
        with self._session() as s:
            names = {i: n for n, i in _ids(s).items()}
            titles = {i: t for i, t in s.execute(select(MeetingRow.id, MeetingRow.title))}
            stmt = select(StanceRow).order_by(StanceRow.held_on, StanceRow.meeting_id, StanceRow.id)
            return [
                StanceRecord(
                    names[r.stakeholder_id],
                    as_utc(r.held_on).date(),
                    r.stance,
                    titles[r.meeting_id],
                    r.note,
                )
                for r in s.execute(stmt).scalars()
            ]


def _stored(row: MeetingRow) -> StoredMeeting:
    data: dict[str, Any] = row.data or {}
    return StoredMeeting(
        id=row.id,
        meeting=Meeting.model_validate(data["meeting"]),
        source=row.source,
        logged={str(k): int(v) for k, v in (data.get("logged") or {}).items()},
    )
