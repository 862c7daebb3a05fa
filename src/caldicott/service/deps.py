"""Typed dependencies for routes: the session a request runs in, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from caldicott.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; the route owns the transaction (``session.begin()``).

    Each transaction checks a pooled connection out and hands it back at its end,
    so a request never holds more than one; the ledger's sequencer thread takes
    its own from the pool for its integration rounds.
    """
    with request.app.state.sessions() as session:
        yield session


async def get_settings(request: Request) -> Settings:  # async: no hop to the thread pool
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
