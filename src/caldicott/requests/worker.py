"""Moving requests along without a person, each step its own transaction: check and decide
what was received (or queued), trace what a person approved for tracing.

This is an edge (it owns transactions). It runs after a request is received,
in the background after a batch, and at start-up and from
``caldicott trace-request process`` to finish whatever a crash interrupted.
A step that loses a race (:class:`StepLost`) or cannot run yet (no trained
model) leaves the request where it is, in exactly one status.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from caldicott.errors import CaldicottError
from caldicott.requests import audit, repository, service, tracing
from caldicott.requests.core.states import PENDING, Status
from caldicott.settings import Settings

log = logging.getLogger(__name__)
Sessions = Callable[[], Session]


def _step(sessions: Sessions, run: Callable[[Session], Status | None]) -> Status | None:
    with sessions() as session:
        try:
            with session.begin():
                repository.begin_write(session)
                return run(session)
        except service.StepLost:
            return None


def process_request(sessions: Sessions, settings: Settings, request_id: int,
                    today: dt.date | None = None) -> None:
    """Move one request on as far as it can go without a person.

    Example:
        >>> process_request(app.state.sessions, settings, 42)  # doctest: +SKIP
    """
    try:
        _step(sessions, lambda s: service.intake_step(s, settings, request_id, today))
        _step(sessions, lambda s: tracing.trace_step(s, settings, request_id))
    except CaldicottError as error:  # e.g. no trained model yet: the request waits
        log.warning("trace request %s left pending: %s", request_id, error.pds_code)


def trace_in(session: Session, settings: Settings, request_id: int) -> None:
    """Trace a request in the caller's transaction, in a savepoint: a trace that cannot run
    yet (no trained model) is undone with its entries and left for the worker."""
    with audit.held(session, settings) as events:
        try:
            with session.begin_nested():
                tracing.trace_step(session, settings, request_id)
        except CaldicottError as error:
            events.clear()
            session.expire_all()
            log.warning("trace request %s left for the worker: %s", request_id, error.pds_code)


def process_many(sessions: Sessions, settings: Settings, request_ids: Iterable[int]) -> None:
    for request_id in request_ids:
        process_request(sessions, settings, request_id)


def process_pending(sessions: Sessions, settings: Settings, today: dt.date | None = None,
                    page: int = 500, stop: threading.Event | None = None) -> Counter[str]:
    """Finish every request left received, queued or approved for tracing; count where they
    ended.

    ``stop``, when set, ends the run early (the service is shutting down).

    Example:
        >>> process_pending(sessions, settings)  # doctest: +SKIP
        Counter({'awaiting_validation': 12, 'refused_agreement': 3})
    """
    pending = tuple(sorted(s.value for s in PENDING))
    last = 0
    while stop is None or not stop.is_set():
        with sessions() as session:
            ids = repository.ids_in(session, pending, after=last, limit=page)
        if not ids:
            break
        for request_id in ids:
            if stop is not None and stop.is_set():  # the service is shutting down
                break
            process_request(sessions, settings, request_id, today)
        last = ids[-1]
    with sessions() as session:
        return Counter(repository.count_by_status(session))
