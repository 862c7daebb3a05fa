"""Running one check end to end: an edge helper shared by the API, the CLI and the demo.

Three transactions (see :mod:`caldicott.checking.service`): open the check, send it with
no transaction held (a slow Home Office must not hold the database's write lock), close
it. A call's start and end (what is charged) are the Home Office's own, carried in its
answer; without them, the round trip measured here; a replay of history (the demo's
call log) passes the logged times.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy.orm import Session

from caldicott.checking import repository, service
from caldicott.checking.connector import StatusChecker
from caldicott.checking.models import StatusCheckRow
from caldicott.checking.service import CheckForm, Requester
from caldicott.db import utcnow
from caldicott.settings import Settings

Transaction = Callable[[], AbstractContextManager[Session]]
CallTimes = tuple[dt.datetime, dt.datetime]


def run_check(transaction: Transaction, settings: Settings, connector: StatusChecker,
              requester: Requester, form: CheckForm, *, as_of: dt.date,
              client_key: str | None = None,
              call_times: CallTimes | None = None) -> tuple[StatusCheckRow, bool]:
    """Open, send and close one check; returns the check and whether it was new.

    A check already answered under ``client_key`` is returned as it is (no second call,
    no second charge). One that got no answer is sent again under its own key.

    Raises:
        Forbidden: the agreement refuses (the refusal is recorded first; nothing sent).
        GatewayTimeout / ServiceUnavailable: no answer (recorded first; nothing charged).
    """
    with transaction() as session:
        repository.begin_write(session)
        row, created = service.open_check(session, settings, requester, form, as_of=as_of,
                                          client_key=client_key)
        settled = row.state in ("answered", "refused")
        if not settled:
            org = service.get_organisation_by_id(session, row.organisation_id)
            check_id, body, uid = row.id, service.body_of(row, org.code), row.uid
    if settled:  # a refusal is committed before it is answered 403
        service.raise_if_failed(row)
        return row, created
    started = utcnow()
    reply = connector.check(body, uid)
    ended = utcnow()
    if reply.call is not None:  # the call's length as the Home Office measured it
        started, ended = reply.call
    if call_times is not None:
        started, ended = call_times
    with transaction() as session:
        repository.begin_write(session)
        row = service.close_check(session, settings, check_id, reply, started, ended)
    service.raise_if_failed(row)
    return row, created


def session_transaction(session: Session) -> Transaction:
    """Transactions on one session (a route's): each ``with`` is ``session.begin()``."""
    from collections.abc import Iterator
    from contextlib import contextmanager

    @contextmanager
    def begin() -> Iterator[Session]:
        with session.begin():
            yield session

    return begin
