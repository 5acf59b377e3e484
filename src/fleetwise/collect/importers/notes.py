"""Interview, shadowing and focus-group notes: Markdown with YAML front matter.

::

    ---
    id: int-2026-10-07-platform      # optional; the file's path is the identity otherwise
    date: 2026-10-07
    method: interview                 # interview | shadowing | focus-group | workshop
    team: training-platform
    people: [ML engineer, SRE]        # roles (or {role: ..., name: ...}); names are not kept
    links:                            # a theme (tag) as evidence for a finding or an action
      flaky-tests: [finding:delivery.flaky_job, "action:Quarantine flaky tests"]
    ---
    Retries hide the #flaky-tests; nobody trusts a red build ...

Themes are the inline tags (``#flaky-tests``: a letter, then letters, digits and dashes),
outside fenced code; ``tags:`` in the front matter adds more. Every problem raises
``InputError`` naming the file and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fleetwise.errors import InputError
from fleetwise.textfile import first_problem, load_yaml, read_text

Method = Literal["interview", "shadowing", "focus-group", "workshop"]
METHODS: tuple[str, ...] = ("interview", "shadowing", "focus-group", "workshop")
#: A link names a finding kind (``finding:delivery.flaky_job``) or an action by its title.
LINK_KINDS = ("finding", "action")

TAG = re.compile(r"(?<![\w&/#])#([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)")
_FENCE = re.compile(r"^\s*(```|~~~)")


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1)
    name: str = ""


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default="", pattern=r"^[A-Za-z0-9_.:-]*$")
    title: str = ""
    date: date
    method: Method
    team: str = Field(min_length=1)
    people: list[str | Person] = Field(default_factory=list)
    interviewer: str = ""
    tags: list[str] = Field(default_factory=list)
    links: dict[str, list[str]] = Field(default_factory=dict)


@dataclass(frozen=True)
class Note:
    #: ``id:<id>`` from the front matter, else ``path:<resolved path>``.
    key: str
    path: str
    title: str
    held_on: date
    team: str
    method: str
    roles: list[str]
    tags: list[str]
    links: dict[str, list[str]]
    body: str
    #: Tag -> the first line it appears on, tag marks removed (a quote for the report).
    quotes: dict[str, str] = field(default_factory=dict)


def _line(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """0-based line of the front-matter key at ``loc`` (the deepest found)."""
    node, line = root, root.start_mark.line if root is not None else 0
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        match = [(k, v) for k, v in node.value if k.value == str(part)]
        if not match:
            break
        line, node = match[0][0].start_mark.line, match[0][1]
    return line


def split_front_matter(path: Path, text: str) -> tuple[str, str, int]:
    """(front matter, body, line the body starts on)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise InputError(f"{path}:1: expected YAML front matter between '---' lines")
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    raise InputError(f"{path}:1: the front matter has no closing '---' line")


def _blocks(body: str) -> list[str]:
    """Paragraphs and list items (a quote's unit), fenced code left out."""
    blocks: list[list[str]] = []
    fenced, fresh = False, True
    for line in body.splitlines():
        if _FENCE.match(line):
            fenced, fresh = not fenced, True
            continue
        if fenced or not line.strip():
            fresh = True
            continue
        if fresh or re.match(r"^\s*([-*+]|\d+[.)])\s", line):
            blocks.append([])
        blocks[-1].append(line.strip())
        fresh = False
    return [" ".join(b) for b in blocks]


def inline_tags(body: str) -> dict[str, str]:
    """Tag (lower-cased) -> the paragraph or list item it first appears in, without the
    tags and Markdown marks (a quote for the report)."""
    found: dict[str, str] = {}
    for block in _blocks(body):
        tags = [m.group(1).lower() for m in TAG.finditer(block)]
        if not tags:
            continue
        # Tags closing a paragraph are labels (dropped); a tag inside a sentence is a word.
        text = re.sub(rf"(\s*{TAG.pattern})+\s*$", "", block)
        text = TAG.sub(lambda m: m.group(1), text).replace("**", "")
        text = re.sub(r"\s+", " ", text).strip(" -*+>")
        quote = text if len(text) <= 200 else text[:197].rsplit(" ", 1)[0] + "..."
        for t in tags:
            found.setdefault(t, quote)
    return found


def _title(meta: FrontMatter, body: str, path: Path) -> str:
    if meta.title:
        return meta.title
    for line in body.splitlines():
        m = re.match(r"^\s{0,3}#{1,6}\s+(.+)$", line)
        if m:
            return m.group(1).strip()
    return path.stem


def parse(path: Path) -> Note:
    text = read_text(path)
    head, body, _ = split_front_matter(path, text)
    try:
        root, raw = yaml.compose(head), load_yaml(head)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        raise InputError(f"{path}:{line}: front matter is not valid YAML") from exc
    if not isinstance(raw, dict):
        raise InputError(f"{path}:2: the front matter must be a YAML mapping")

    def error(loc: tuple[int | str, ...], msg: str) -> InputError:
        line = _line(root, loc) + 2  # the front matter starts on the file's second line
        key = ".".join(str(p) for p in loc)
        return InputError(f"{path}:{line}: {key}: {msg}" if key else f"{path}:{line}: {msg}")

    try:
        meta = FrontMatter.model_validate(raw)
    except ValidationError as exc:
        where, msg = first_problem(exc)
        raise error(where, msg) from exc
    quotes = inline_tags(body)
    tags = sorted({*quotes, *(t.lstrip("#").lower() for t in meta.tags)})
    for tag, targets in meta.links.items():
        if tag.lstrip("#").lower() not in tags:
            raise error(("links", tag), f"#{tag} is not a tag of this note")
        for target in targets:
            kind, _, name = target.partition(":")
            if kind not in LINK_KINDS or not name.strip():
                raise error(
                    ("links", tag),
                    f"{target!r}: expected finding:<finding kind> or action:<action title>",
                )
    roles = [p if isinstance(p, str) else p.role for p in meta.people]
    return Note(
        key=f"id:{meta.id}" if meta.id else f"path:{path.resolve()}",
        path=str(path),
        title=_title(meta, body, path),
        held_on=meta.date,
        team=meta.team,
        method=meta.method,
        roles=roles,
        tags=tags,
        links={t.lstrip("#").lower(): list(v) for t, v in meta.links.items()},
        body=body.strip(),
        quotes=quotes,
    )
