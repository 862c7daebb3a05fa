"""Docs that cannot rot: the README names every setting and every command, and
its quickstart is the two commands CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from caldicott.cli import root
from caldicott.settings import Settings

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()


def _command_paths(command: object, prefix: str) -> list[str]:
    if hasattr(command, "commands"):
        return [path for name, sub in command.commands.items()
                for path in _command_paths(sub, f"{prefix} {name}")]
    return [prefix]


def test_every_setting_is_in_the_readme() -> None:
    missing = [f"CALDICOTT_{name.upper()}" for name in Settings.model_fields
               if f"CALDICOTT_{name.upper()}" not in README]
    assert missing == []


def test_every_cli_command_is_in_the_readme() -> None:
    paths = _command_paths(typer.main.get_command(root), "caldicott")
    assert len(paths) > 3
    missing = [path for path in paths if path not in README]
    assert missing == []


def test_quickstart_is_two_commands_and_ci_runs_the_test_one() -> None:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", section, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 2
    assert "demo" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1].split("#")[0].strip() in ci.splitlines()


def test_the_layout_lists_every_package_folder() -> None:
    section = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
    folders = sorted(p.parent.name for p in (ROOT / "src" / "caldicott").glob("*/__init__.py"))
    assert len(folders) >= 10
    missing = [name for name in folders if f"\n  {name}/ " not in section]
    assert missing == []
