"""The ``caldicott`` command.

The root app finds each capability's commands in ``caldicott/<capability>/cli.py``:
a module-level ``app`` (a ``typer.Typer`` with a ``name``) becomes a command
group, and a ``register(root)`` function may add top-level commands. Those
modules import only Typer and the standard library at the top, so
``caldicott --help`` stays fast; heavy imports happen inside commands.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import typer

from caldicott.errors import CaldicottError

root = typer.Typer(
    name="caldicott",
    help="A disclosure-control gateway for confidential patient data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_capabilities() -> None:
    package_dir = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(package_dir)]), key=lambda m: m.name):
        if not (info.ispkg and (package_dir / info.name / "cli.py").exists()):
            continue
        module = importlib.import_module(f"caldicott.{info.name}.cli")
        register = getattr(module, "register", None)
        if callable(register):
            register(root)
        sub_app = getattr(module, "app", None)
        if isinstance(sub_app, typer.Typer):
            root.add_typer(sub_app)


_register_capabilities()


def main() -> None:
    """Run the CLI; a domain error or bad settings are one plain line on stderr and exit
    code 2 (never a traceback, which would print every setting's value)."""
    from pydantic import ValidationError

    from caldicott.settings import settings_problem

    try:
        root()
    except CaldicottError as error:
        typer.echo(f"caldicott: {error.diagnostics}", err=True)
        sys.exit(2)
    except ValidationError as error:
        if error.title != "Settings":  # not a settings problem: a bug, let it show
            raise
        typer.echo(f"caldicott: {settings_problem(error)}", err=True)
        sys.exit(2)
