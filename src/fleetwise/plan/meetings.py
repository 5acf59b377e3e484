"""Stakeholder meetings: the alignment log's entries, read from YAML or Markdown.

A meeting file is YAML, or Markdown whose front matter (between two ``---`` lines) holds
the same keys and whose body is kept as the meeting's notes::

    date: 2026-12-01
    title: Steering committee - rollout wave 1
    attendees: [Dana Whitfield, Omar Haddad]
    decisions:                 # go to the decision log (fleetwise plan decisions)
      - action: reclaim_idle_gpus        # title, slug or catalog key (see plan.alignment)
        decision: approve                # approve / reject / defer
        by: Dana Whitfield
        note: two-week pilot on the shared pool first
    objections:
      - key: idle-kills-jobs             # optional: lets a later meeting answer it
        by: Omar Haddad
        text: Will idle reclaim kill our long evaluation jobs?
        action: reclaim_idle_gpus        # optional
        answer: Jobs with a heartbeat are exempt; 2h grace period.   # optional
        answered_by: Marcus Lee                                      # optional
    answers:                   # objections of earlier meetings answered here
      - objection: idle-kills-jobs
        answer: ...
        answered_by: Marcus Lee
    stances:
      - stakeholder: Omar Haddad
        stance: neutral                  # opposed / neutral / supportive
        note: accepts the pilot if the grace period holds

Every person named must be in the stakeholder register. A meeting is identified by its
``id`` when given, else by its date and title: adding the file again replaces it.
An objection is open while no answer is given, in its meeting or a later one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from pathlib import Path

import yaml

from fleetwise.errors import InputError
from fleetwise.models import Action, Meeting
from fleetwise.plan import yamlfile
from fleetwise.plan.alignment import resolve_action
from fleetwise.textfile import load_yaml, read_text


def _read(path: Path) -> yamlfile.PlanFile:
    """The file's YAML (its front matter for Markdown), lines counted as in the file."""
    if path.suffix.lower() not in {".md", ".markdown"}:
        return yamlfile.read(path, "meeting")
    text = read_text(path)
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise InputError(f"{path}:1: a meeting note starts with front matter between '---' lines")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise InputError(f"{path}:1: the front matter has no closing '---' line")
    # A blank first line keeps the YAML's line numbers the file's.
    front = "\n" + "\n".join(lines[1:end]) + "\n"
    try:
        root, raw = yaml.compose(front), load_yaml(front)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{where}: not valid YAML: {problem}") from exc
    if not isinstance(raw, dict):
        raise InputError(f"{path}:2: the front matter must be a YAML mapping")
    body = "\n".join(lines[end + 1 :]).strip()
    if body and "notes" not in raw:
        raw["notes"] = body
    return yamlfile.PlanFile(path, raw, root)


def load_meeting(
    path: Path,
    *,
    stakeholders: Collection[str],
    actions: Sequence[Action],
    raised: Mapping[str, tuple[str, date]] | None = None,
) -> Meeting:
    """Read and check a meeting file: every person in the register, every action in the
    backlog, every answered objection raised before (``raised``: objection key -> the key
    and date of the meeting that raised it) or in this meeting (nothing is stored here)."""
    doc = _read(path)
    m = doc.validate(Meeting)

    def person(name: str, loc: list[int | str]) -> None:
        if name and name not in stakeholders:
            raise doc.error(
                loc,
                f"unknown stakeholder {name!r} (not in the register: fleetwise stakeholder list)",
            )

    def action(ref: str, loc: list[int | str]) -> Action:
        got = resolve_action(ref, actions)
        if isinstance(got, str):
            raise doc.error(loc, got)
        return got

    for i, name in enumerate(m.attendees):
        person(name, ["attendees", i])
    decisions = []
    for i, d in enumerate(m.decisions):
        person(d.by, ["decisions", i, "by"])
        a = action(d.action, ["decisions", i, "action"])
        decisions.append(d.model_copy(update={"action_id": a.id, "action_title": a.title}))
    objections = []
    keys: set[str] = set()
    for i, o in enumerate(m.objections):
        person(o.by, ["objections", i, "by"])
        person(o.answered_by, ["objections", i, "answered_by"])
        if o.key and o.key in keys:
            raise doc.error(["objections", i, "key"], f"{o.key!r} is used twice")
        keys.add(o.key)
        title = action(o.action, ["objections", i, "action"]).title if o.action else ""
        objections.append(o.model_copy(update={"action_title": title}))
    for i, ans in enumerate(m.answers):
        person(ans.answered_by, ["answers", i, "answered_by"])
        where = (raised or {}).get(ans.objection)
        earlier = where is not None and where[0] != m.key and where[1] <= m.date
        if not earlier and ans.objection not in keys:
            raise doc.error(
                ["answers", i, "objection"],
                f"no objection {ans.objection!r} was raised in an earlier meeting",
            )
    for i, s in enumerate(m.stances):
        person(s.stakeholder, ["stances", i, "stakeholder"])
    return m.model_copy(update={"decisions": decisions, "objections": objections})


def objection_keys(meetings: Sequence[Meeting]) -> set[str]:
    return {o.key for m in meetings for o in m.objections if o.key}
