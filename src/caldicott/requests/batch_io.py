"""Reading a batch of requests from JSON or CSV, every row checked before any is kept."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from pydantic import TypeAdapter, ValidationError

from caldicott.errors import Unprocessable
from caldicott.requests.schemas import MAX_BATCH, TraceRequestIn

_ITEMS = TypeAdapter(list[TraceRequestIn])
_ONE = TypeAdapter(TraceRequestIn)


def _describe(error: ValidationError, prefix: str) -> list[str]:
    return [f"{prefix}{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()]


def _check_size(count: int) -> None:
    if count == 0:
        raise Unprocessable("the batch holds no requests")
    if count > MAX_BATCH:
        raise Unprocessable(f"a batch holds at most {MAX_BATCH} requests, not {count}")


def from_json(body: bytes) -> list[TraceRequestIn]:
    """``{"requests": [...]}`` or a bare list.

    Example:
        >>> from_json(b'{"requests": []}')
        Traceback (most recent call last):
        caldicott.errors.Unprocessable: the batch holds no requests
    """
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise Unprocessable(f"the body is not JSON: {error}") from None
    items = raw.get("requests") if isinstance(raw, dict) else raw
    if not isinstance(items, list) or (isinstance(raw, dict) and set(raw) - {"requests"}):
        raise Unprocessable('send {"requests": [...]}: a list of trace requests')
    _check_size(len(items))
    try:
        return _ITEMS.validate_python(items)
    except ValidationError as error:
        raise Unprocessable("; ".join(_describe(error, "requests.")[:20])) from None


def _csv_row(row: dict[str | None, Any]) -> dict[str, Any]:
    if None in row:
        raise ValueError("more values than column names")
    out: dict[str, Any] = {}
    for key, value in row.items():
        if not key or value in (None, ""):
            continue
        if "." in key:  # suspected_offence.statute -> {"suspected_offence": {"statute": ...}}
            outer, inner = key.split(".", 1)
            out.setdefault(outer, {})[inner] = value
        else:
            out[key] = value
    for listed in ("alternatives_tried",):
        if listed in out:
            out[listed] = [v.strip() for v in str(out[listed]).split(";") if v.strip()]
    if "requested_fields" in out:
        out["requested_fields"] = [f.strip() for f in str(out["requested_fields"])
                                   .replace("|", ";").split(";") if f.strip()]
    return out


def from_csv(body: bytes) -> list[TraceRequestIn]:
    """A CSV with one request per row; columns are the JSON field names.

    ``requested_fields`` (and ``alternatives_tried``) hold values separated by ``;``; a
    nested field is a dotted column (``suspected_offence.statute``,
    ``suspected_offence.section``); convictions need JSON. Row numbers in errors
    count the header as row 1.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("the CSV is not UTF-8 text") from None
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise Unprocessable(f"the CSV cannot be read: {error}") from None
    _check_size(len(rows))
    items, problems = [], []
    for number, row in enumerate(rows, start=2):
        try:
            items.append(_ONE.validate_python(_csv_row(row)))
        except ValidationError as error:
            problems.extend(_describe(error, f"row {number}: "))
        except ValueError as error:
            problems.append(f"row {number}: {error}")
    if problems:
        raise Unprocessable("; ".join(problems[:20]) + (" ..." if len(problems) > 20 else ""))
    return items
