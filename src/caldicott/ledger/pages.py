"""The auditor's ledger explorer: the signed checkpoint and its verifier key, entries
paged and filtered, one entry's inclusion proof (checked again in the browser by
``static/proof-check.js``), and consistency between a saved checkpoint and today's.

Each handler calls :mod:`caldicott.ledger.explorer`, whose rules are those of the
ledger's API: only a reader whose reach is every organisation pages through entries,
and every page of entries or proof read is itself a ledger entry. The filters (type,
day, agreement) and the entry index are the only things in a URL: codes and numbers,
never anything about a patient (the leaves hold no identifier at all).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.datastructures import QueryParams

from caldicott.access.core.policy import can, ensure
from caldicott.access.core.roles import Action
from caldicott.errors import Forbidden, InvalidInput, NotFound
from caldicott.ledger import explorer
from caldicott.service.deps import SessionDep, SettingsDep
from caldicott.web.deps import Person, PostedForm, page_router
from caldicott.web.home import HomeLink, register_link
from caldicott.web.templating import render

router = page_router(prefix="/ledger")
PAGE_SIZE = 25
STATIC = FilePath(__file__).resolve().parent / "static"
#: The browser's files: served as they are, to anyone (they hold only code).
SCRIPTS = frozenset({"proof-check.js", "explorer.js"})
Index = Annotated[int, Path(ge=0, le=2**62)]

register_link(HomeLink("Ledger explorer", "/ledger/explorer",
                       "The signed checkpoint and its key, every entry of the ledger, and "
                       "proofs you can check in your own browser", Action.READ_LEDGER, 60))


@router.get("/static/{name}", response_class=FileResponse)
def script(name: str) -> FileResponse:
    """The in-browser proof check and the explorer's few lines of JavaScript."""
    if name not in SCRIPTS:
        raise NotFound("no such file")
    return FileResponse(STATIC / name, media_type="text/javascript; charset=utf-8")


def _day(params: QueryParams, prefix: str, errors: dict[str, str]) -> dt.date | None:
    """A day from a date input's three boxes (``from[day]`` ...), or None when blank."""
    parts = [params.get(f"{prefix}[{part}]", "").strip() for part in ("day", "month", "year")]
    if not any(parts):
        return None
    try:
        day, month, year = (int(part) for part in parts)
        return dt.date(year, month, day)
    except ValueError:
        errors[f"{prefix}-day"] = f"Enter a real date for “{_LABELS[prefix]}”, for example 1 3 2026"
        return None


_LABELS = {"from": "Recorded from", "to": "Recorded to"}


def _filter(params: QueryParams, errors: dict[str, str]) -> explorer.EntryFilter:
    return explorer.EntryFilter(
        type=params.get("type") or None, agreement=params.get("agreement") or None,
        recorded_from=_day(params, "from", errors), recorded_to=_day(params, "to", errors))


def _query(params: QueryParams, **changes: Any) -> str:
    """The page's query with ``changes`` (the filters kept while paging)."""
    kept = {k: v for k, v in params.items() if k != "before" and v}
    kept.update({k: v for k, v in changes.items() if v is not None})
    return urlencode(kept)


@router.get("/explorer")
def explore(request: Request, person: Person, session: SessionDep, settings: SettingsDep,
            before: Annotated[int | None, Query(ge=0, le=2**62)] = None) -> HTMLResponse:
    """The signed checkpoint and key; a page of entries, newest first, filtered."""
    ensure(can(person, Action.READ_LEDGER))
    errors: dict[str, str] = {}
    wanted = _filter(request.query_params, errors)
    page, refused = None, None
    choices: tuple[list[str], list[str]] = ([], [])
    with session.begin():
        head = explorer.signed_head(session, settings)
        try:
            choices = explorer.filter_choices(session, person)
            if not errors:
                page = explorer.entries(session, settings, person, wanted, before, PAGE_SIZE)
        except InvalidInput as invalid:  # a day range backwards, a code no form offers
            errors["from-day" if "day" in invalid.diagnostics else "type"] = invalid.diagnostics
        except Forbidden:
            refused = ("The entries span every organisation's requests: only reviewers and "
                       "auditors of NHS Digital or a regulator may read them. You can still "
                       "copy the checkpoint and check consistency.")
    older = _query(request.query_params, before=page.next_before) if page and \
        page.next_before is not None else None
    return render(request, "ledger/explorer.html", {
        "head": head, "root": _b64(head.root), "page": page, "types": choices[0],
        "agreements": choices[1], "values": request.query_params, "errors": errors,
        "refused": refused, "older": older, "filtered": bool(request.query_params.get("type")
        or request.query_params.get("agreement") or wanted.recorded_from
        or wanted.recorded_to), "first_page": before is None,
        "newest": _query(request.query_params)}, status_code=400 if errors else 200)


@router.get("/explorer/entries/{index}")
def entry(request: Request, index: Index, person: Person, session: SessionDep,
          settings: SettingsDep) -> HTMLResponse:
    """One entry, its inclusion proof against the signed checkpoint, and the button that
    checks that proof in the browser."""
    ensure(can(person, Action.READ_LEDGER))
    with session.begin():
        proof = explorer.entry_proof(session, settings, person, index)
    try:
        shown = json.dumps(json.loads(proof.entry), indent=2, sort_keys=True)
    except ValueError:
        shown = proof.entry
    return render(request, "ledger/entry.html", {
        "proof": proof, "entry": shown, "leaf_hash": _b64(proof.leaf_hash),
        "root": _b64(proof.checkpoint.root),
        "proof_json": json.dumps(proof.for_browser(), indent=1)})


@router.get("/explorer/consistency")
def consistency_form(request: Request, person: Person) -> HTMLResponse:
    """The form: a saved checkpoint's size and root (or the signed note itself)."""
    ensure(can(person, Action.READ_LEDGER))
    return render(request, "ledger/consistency.html", {"values": {}, "errors": {},
                                                       "check": None})


def _saved(form: PostedForm) -> tuple[int | None, bytes | None, str, dict[str, str]]:
    """The saved checkpoint as given: size and root, or a note; and what is wrong."""
    size_text = str(form.get("tree_size") or "").strip().replace(",", "")
    root_text = str(form.get("root") or "").strip()
    note = str(form.get("note") or "").strip()
    if note and not (size_text or root_text):
        return None, None, note + "\n", {}
    errors: dict[str, str] = {}
    size = int(size_text) if size_text.isdigit() and len(size_text) < 19 else None
    if size is None or size < 1:
        errors["tree_size"] = "Enter the saved checkpoint's size: a whole number, 1 or more"
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError):
        root = b""
    if len(root) != 32:
        errors["root"] = ("Enter the saved checkpoint's root hash: 44 characters of base64, "
                          "as the checkpoint's third line shows it")
    return size, root, "", errors


@router.post("/explorer/consistency")
def consistency_check(request: Request, person: Person, session: SessionDep,
                      settings: SettingsDep, form: PostedForm) -> HTMLResponse:
    """Does today's signed log extend the saved checkpoint? Either answer is an outcome."""
    ensure(can(person, Action.READ_LEDGER))
    size, root, note, errors = _saved(form)
    values = {k: str(form.get(k) or "") for k in ("tree_size", "root", "note")}
    check = None
    if not errors:
        try:
            with session.begin():
                check = (explorer.consistency_with_note(session, settings, note) if note
                         else explorer.consistency(session, settings, size or 0, root or b""))
        except InvalidInput as invalid:
            errors["note" if note else "tree_size"] = invalid.diagnostics
    return render(request, "ledger/consistency.html", {
        "values": values, "errors": errors, "check": check,
        "today_root": _b64(check.checkpoint.root) if check else None,
        "saved_root": _b64(check.first_root) if check else None},
        status_code=400 if errors else 200)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()
