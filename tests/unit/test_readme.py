"""The README's commands exist: every ``fleetwise ...`` line it shows parses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from fleetwise.present.cli import main

README = Path(__file__).parents[2] / "README.md"


def readme_commands() -> list[list[str]]:
    commands = []
    for block in re.findall(r"```\n(.*?)```", README.read_text(), flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("fleetwise "):
                words = shlex.split(line)[1:]
                # the command path: words before the first placeholder or option
                path = []
                for w in words:
                    if w.startswith("-") or w.startswith("[") or w.isupper():
                        break
                    path.append(w)
                commands.append(path)
    return commands


def test_readme_lists_commands() -> None:
    assert ["bench", "run"] in readme_commands()
    assert ["env"] in readme_commands()


@pytest.mark.parametrize("path", readme_commands(), ids=" ".join)
def test_readme_command_exists(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_make_targets_in_readme_exist() -> None:
    makefile = (README.parent / "Makefile").read_text()
    for target in re.findall(r"^make (\w+)", README.read_text(), flags=re.M):
        assert re.search(rf"^{target}:", makefile, flags=re.M), target
