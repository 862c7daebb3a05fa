"""The reviewer's desk: the queue of requests waiting for a reviewer, and one request's file.

A reviewer acts on two kinds of request: those awaiting the public-interest
test (before anyone is looked for) and those awaiting review of a trace. The
queue lists both, oldest first (in the order received), each with its age,
the decision and the words of its agreement version's clauses, the fields an
approval would release, and whether *this* reviewer may act, with the reason
in words (nobody decides a request they made or ever traced). The file of one
request (:func:`review_desk`) adds the evidence: each candidate the trace
weighed, with its match-weight waterfall, and exactly what an approval would
send. Every rule comes from the use cases that act (``tracing.review_verdict``,
``tracing.release_blocker``, ``tracing.would_release``,
``service.public_interest_verdict``); nothing here decides anything.

Both reads are personal data shown to a person, so each is recorded in the
ledger (``audit_read``) in the caller's transaction, before it returns; the
NHS numbers of the patients behind the evidence go in only as pseudonyms and
are never in the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from caldicott.access.core.policy import Verdict, can
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action
from caldicott.access.deps import ensure
from caldicott.access.reads import audit_read
from caldicott.agreements.core import Approval
from caldicott.errors import CaldicottError, Conflict
from caldicott.matching.core.waterfall import Waterfall, render_svg, waterfall
from caldicott.register.repository import load_records
from caldicott.requests import repository, tracing, views
from caldicott.requests.core.states import Status
from caldicott.requests.models import TraceRequestRow
from caldicott.requests.schemas import TraceRequestOut
from caldicott.requests.service import public_interest_verdict, version_of
from caldicott.settings import Settings

Task = Literal["public_interest", "review_release"]
#: What a reviewer must do for a request in each status.
TASKS: dict[str, Task] = {Status.AWAITING_PUBLIC_INTEREST.value: "public_interest",
                          Status.AWAITING_REVIEW.value: "review_release"}
MAX_PAGE = 100
MAX_CANDIDATES = 3  # the leader, the runner-up and one more: enough to see why


@dataclass(frozen=True, slots=True)
class ClauseText:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One request on the reviewer's queue, with what the list shows of it."""

    request: TraceRequestOut  # as the staff view shows it: facts, decision, trace, reviews
    task: Task
    age: dt.timedelta  # since it was received
    waiting: dt.timedelta  # since it reached this status
    clauses: tuple[ClauseText, ...]  # the words of the version it was decided under
    fields_leaving: tuple[str, ...]  # what an approval would release (names)
    may_act: Verdict  # may THIS reviewer decide it, and why (not)
    release_blocked: str | None  # why an approval can release nothing, if so
    approvals: int  # approvals given since the latest trace
    approvals_needed: int


@dataclass(frozen=True, slots=True)
class QueuePage:
    items: tuple[QueueItem, ...]
    total: int  # requests waiting for a reviewer, on every page
    next_after: int | None  # pass as ``after`` for the next page; None on the last


@dataclass(frozen=True, slots=True)
class CandidateView:
    """One person the trace weighed (never named here), with the evidence for them."""

    rank: int  # 1 is the leader
    is_match: bool  # the person the trace named
    match_weight: float
    match_probability: float
    waterfall: Waterfall

    def svg(self, chart_id: str) -> str:
        return render_svg(self.waterfall, chart_id,
                          title=f"Candidate {self.rank}: match-weight waterfall")


@dataclass(frozen=True, slots=True)
class Leaving:
    """What an approval (with the fields disclosure) would send to the requester."""

    fields: tuple[str, ...]
    new_information: bool
    deceased: bool
    resource: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeskItem:
    item: QueueItem
    candidates: tuple[CandidateView, ...]
    leaving: Leaving | None
    note: str | None  # e.g. the register changed since the trace


def _organisation_scope(principal: Principal) -> int | None:
    """None: every organisation; else the reviewer's own (a trust's Guardian)."""
    ensure(can(principal, Action.REVIEW_RELEASE))
    return None if can(principal, Action.REVIEW_RELEASE, -1) else principal.organisation_id


def _approvals(shown: TraceRequestOut, traced_at: dt.datetime | None) -> int:
    return sum(1 for r in shown.reviews or () if r.decision == "approve"
               and (traced_at is None or r.reviewed_at >= traced_at))


def _tracers(row: TraceRequestRow, shown: TraceRequestOut) -> set[int]:
    """Everyone who ever traced the request: every run the staff view lists, and the last."""
    runs = shown.trace.runs if shown.trace is not None else []
    found = {r.traced_by for r in runs if r.traced_by is not None}
    return found | ({row.traced_by} if row.traced_by is not None else set())


@dataclass
class _PageContext:
    """What one page's items share, each read once for the page."""

    session: Session
    settings: Settings
    principal: Principal
    now: dt.datetime
    versions: dict[tuple[str, str | None], Any]
    kinds: dict[int, str]


def _version(ctx: _PageContext, row: TraceRequestRow) -> Any:
    key = (row.agreement, row.decided_version)
    if key not in ctx.versions:
        try:
            ctx.versions[key] = version_of(ctx.session, ctx.settings, row)
        except CaldicottError:  # the agreement is no longer in force: shown without clauses
            ctx.versions[key] = None
    return ctx.versions[key]


def _item(ctx: _PageContext, row: TraceRequestRow, shown: TraceRequestOut) -> QueueItem:
    task = TASKS[row.status]
    version = _version(ctx, row)
    if row.organisation_id not in ctx.kinds:
        ctx.kinds[row.organisation_id] = repository.organisation_kind(
            ctx.session, row.organisation_id)
    if task == "public_interest":
        verdict, blocked = public_interest_verdict(ctx.principal, row), None
    else:
        verdict = tracing.review_verdict(ctx.principal, row, _tracers(row, shown))
        blocked = tracing.release_blocker(row, ctx.kinds[row.organisation_id])
    two = version is not None and version.approval is Approval.TWO_REVIEWERS
    return QueueItem(
        request=shown, task=task, age=ctx.now - row.received_at,
        waiting=ctx.now - row.status_changed_at,
        clauses=tuple(ClauseText(c.id, c.text) for c in version.clauses) if version else (),
        fields_leaving=tuple(row.release_check_fields or ()) if blocked is None else (),
        may_act=verdict, release_blocked=blocked if task == "review_release" else None,
        approvals=_approvals(shown, row.traced_at), approvals_needed=2 if two else 1)


def _items(ctx: _PageContext, rows: Sequence[TraceRequestRow]) -> list[QueueItem]:
    """The staff view of each row (its runs and reviews read once for the page), and
    what the desk adds to it."""
    shown = views.render(ctx.session, ctx.principal, rows)
    return [_item(ctx, row, view) for row, view in zip(rows, shown, strict=True)]


def review_queue(session: Session, settings: Settings, principal: Principal,
                 after: int | None = None, limit: int = 20,
                 now: dt.datetime | None = None) -> QueuePage:
    """The requests waiting for a reviewer, oldest first, one page after request ``after``.

    Writes one ledger entry (the read); call it inside a write transaction.

    Example:
        >>> page = review_queue(session, settings, guardian)  # doctest: +SKIP
        >>> page.items[0].task, page.items[0].may_act.reason  # doctest: +SKIP
        ('review_release', 'you may decide this request')
    """
    organisation = _organisation_scope(principal)
    limit = max(1, min(limit, MAX_PAGE))
    repository.begin_write(session)  # the read is recorded in the ledger
    statuses = tuple(TASKS)
    total = repository.count_waiting(session, statuses, organisation)
    rows = repository.waiting(session, statuses, organisation, after or 0, limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    ctx = _PageContext(session, settings, principal, now or dt.datetime.now(dt.UTC), {}, {})
    items = _items(ctx, rows)
    audit_read(session, settings, principal, "review-queue",
               subjects=sorted({r.matched_nhs_number for r in rows if r.matched_nhs_number}),
               details={"shown": len(rows), "total": total})
    return QueuePage(tuple(items), total, rows[-1].id if more and rows else None)


def _candidates(session: Session, row: TraceRequestRow) -> tuple[
        tuple[CandidateView, ...], list[str], str | None]:
    """The trace's candidates again, scored by the model version the trace used."""
    if row.status != Status.AWAITING_REVIEW or row.model_version is None:
        return (), [], None
    try:
        result = tracing.trace_again(session, row, version=row.model_version)
    except CaldicottError as error:
        return (), [], f"the candidates cannot be shown: {error.diagnostics}"
    shown = result.candidates[:MAX_CANDIDATES]
    views_ = tuple(CandidateView(n, c.nhs_number == row.matched_nhs_number,
                                 c.score.match_weight, c.score.match_probability,
                                 waterfall(c.score)) for n, c in enumerate(shown, start=1))
    note = None
    if result.outcome.value != row.trace_outcome or result.nhs_number != row.matched_nhs_number:
        note = ("the register has changed since the trace: scored again today, the candidates "
                f"give {result.outcome.value.replace('_', ' ')}; consider tracing it again")
    return views_, [c.nhs_number for c in shown], note


def review_desk(session: Session, settings: Settings, principal: Principal, request_id: int,
                now: dt.datetime | None = None) -> DeskItem:
    """One waiting request with its evidence: candidates, waterfalls, what would leave.

    Writes one ledger entry (the read, naming the patients behind the evidence).

    Example:
        >>> desk = review_desk(session, settings, guardian, 42)  # doctest: +SKIP
        >>> desk.candidates[0].waterfall.rows[0].label  # doctest: +SKIP
        'Prior'
    """
    _organisation_scope(principal)
    repository.begin_write(session)
    row = views.visible(session, principal, request_id)
    if row.status not in TASKS:
        raise Conflict(f"trace request {request_id} is {row.status}: nothing for a reviewer")
    ctx = _PageContext(session, settings, principal, now or dt.datetime.now(dt.UTC), {}, {})
    item = _items(ctx, [row])[0]
    candidates, numbers, note = _candidates(session, row)
    leaving = None
    if item.task == "review_release" and item.release_blocked is None:
        assert row.matched_nhs_number is not None  # not blocked: the trace named someone
        record = load_records(session, [row.matched_nhs_number]).get(row.matched_nhs_number)
        if record is not None:
            deceased, fields, new, resource = tracing.would_release(row, record)
            leaving = Leaving(tuple(sorted(fields)), new, deceased, resource)
    subjects = set(numbers) | ({row.matched_nhs_number} if row.matched_nhs_number else set())
    audit_read(session, settings, principal, f"trace-request/{row.id}",
               subjects=sorted(subjects), details={"view": "review-desk"})
    return DeskItem(item, candidates, leaving, note)
