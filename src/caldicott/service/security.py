"""The service's outer layers, pure ASGI: limits before work, security headers,
an access log without query strings, and a 500 that tells no log reader anything.

Order (outermost first): :class:`SecurityHeaders` (so every answer carries the
headers, refusals included), :class:`ContainErrors` (a bug becomes one plain
500 and one log line naming where, never the exception's text, which can hold
a patient's details), :class:`GuardBodies` (a body over the limit is refused
with 413 before it is read and before authentication runs; a JSON body nested
too deeply or holding a lone surrogate or a NUL is refused with 422 before any
route parses it).
"""

from __future__ import annotations

import json
import logging
import re
import time
import traceback
from array import array
from collections.abc import Callable, Iterable, Mapping
from itertools import accumulate
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caldicott.service.outcome import operation_outcome

MAX_JSON_DEPTH = 32  # a trace request is 3 deep, a batch of them 4
HSTS = "max-age=63072000; includeSubDomains"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# Swagger UI sets inline style attributes; its scripts still come only from here.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

access_log = logging.getLogger("caldicott.access")
error_log = logging.getLogger("caldicott.errors")

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")


async def send_outcome(send: Send, status: int, code: str, diagnostics: str,
                       headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    """Answer with a FHIR OperationOutcome, from outside the application."""
    body = json.dumps(operation_outcome(code, diagnostics)).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/fhir+json"),
        (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


def nesting_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether JSON ``body`` nests arrays and objects more than ``limit`` deep.

    No recursion and no parse: strings are cut out, each bracket becomes +1 or
    -1, and the running sum's peak is the depth (exact for JSON, an upper bound
    for anything else), all at C speed: a body 100,000 levels deep is a 422,
    not a ``RecursionError`` and a 500.

    Example:
        >>> nesting_depth_exceeds(b'{"a": [[1], "[[["]}', 3), nesting_depth_exceeds(b"[[[]]]", 2)
        (False, True)
    """
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", body))
    if re.search(rb"[\[{]{%d}" % (limit + 1), brackets):
        return True  # the usual attack, found in one scan
    steps = array("b", brackets.translate(_STEPS))  # b"\x01" is +1, b"\xff" is -1
    return max(accumulate(steps), default=0) > limit


def bad_text_in_json(body: bytes) -> str | None:
    r"""A problem with a JSON body's text that no route could store, or None.

    A lone UTF-16 surrogate (``"\ud800"``) decodes to a string that cannot be
    encoded again (the database refuses it: a 500); a NUL cannot be stored in
    PostgreSQL text. Checked once here, for every field of every JSON body.

    Example:
        >>> bad_text_in_json(rb'{"family": "\ud800"}')
        'the JSON body holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape)'
        >>> bad_text_in_json(rb'{"family": "Ng\u00fcyen \ud83d\ude00"}') is None
        True
    """
    if b"\\u" not in body:
        return None  # raw UTF-8 cannot carry a surrogate or a NUL the decoder accepts
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON: the route's own parser says so
    for text in _strings(document):
        if "\x00" in text:
            return "the JSON body holds a NUL character (\\u0000)"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return ("the JSON body holds a lone UTF-16 surrogate "
                    "(an unpaired \\ud800-\\udfff escape)")
    return None


def _strings(document: Any) -> Iterable[str]:
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def _is_json(headers: Headers) -> bool:
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "" or kind.endswith("/json") or kind.endswith("+json")


class GuardBodies:
    """Refuse a body over its path's limit (413) before reading it, and JSON that
    is too deep or holds unstorable text (422) before any route parses it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int,
                 max_bytes_by_path: Mapping[str, int] | None = None,
                 max_depth: int = MAX_JSON_DEPTH,
                 page: Callable[[Scope, int, str], tuple[bytes, list[tuple[bytes, bytes]]]
                                | None] | None = None) -> None:
        self.app = app
        self.page = page  # a person's 413 page (body, headers), or None for a machine
        self.max_bytes = max_bytes
        self.max_bytes_by_path = dict(max_bytes_by_path or {})
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is None and "transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body
            return
        limit = self.max_bytes_by_path.get(scope["path"].rstrip("/"), self.max_bytes)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(scope, send, limit)
            return
        body = await self._read(receive, limit)
        if body is None:
            await self._too_large(scope, send, limit)
            return
        problem = self._json_problem(headers, body)
        if problem:
            await send_outcome(send, 422, "invalid", problem)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive, limit: int) -> bytes | None:
        """The whole body, or None as soon as it passes ``limit`` (chunked bodies too)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b""
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _json_problem(self, headers: Headers, body: bytes) -> str | None:
        if not body or not _is_json(headers):
            return None
        if nesting_depth_exceeds(body, self.max_depth):
            return f"the JSON body is nested more than {self.max_depth} levels deep"
        return bad_text_in_json(body)

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        message = f"the request body is larger than {limit:,} bytes"
        page = self.page(scope, 413, f"What you sent is larger than {limit:,} bytes, the "
                         "most this service accepts.") if self.page else None
        if page is not None:
            body, headers = page
            await send({"type": "http.response.start", "status": 413,
                        "headers": [*headers, (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
            return
        await send_outcome(send, 413, "too-costly", message, [(b"connection", b"close")])


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # after the body: wait for the client to go
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class ContainErrors:
    """Turn an exception that escaped every handler into a plain 500, logging
    where it happened (type, files and lines) but never its message or locals."""

    def __init__(self, app: ASGIApp,
                 page: Callable[[Scope], tuple[bytes, list[tuple[bytes, bytes]]] | None]
                 | None = None) -> None:
        self.app = app
        self.page = page  # a person's 500 page (body, headers), or None for a machine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            from caldicott.db import storage_trouble

            trouble = storage_trouble(error)  # a driver's own error (the ledger's raw path)
            if trouble is not None and not started:
                await send_outcome(send, trouble.status_code, trouble.fhir_code,
                                   trouble.diagnostics, [(b"retry-after", b"60")])
                return
            frames = traceback.extract_tb(error.__traceback__)
            where = " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}"
                                for f in reversed(frames[-6:]))
            error_log.error("unexpected %s in %s %s at %s", type(error).__name__,
                            scope.get("method"), scope.get("path"), where)
            if not started:
                page = self.page(scope) if self.page else None
                if page is not None:
                    body, headers = page
                    await send({"type": "http.response.start", "status": 500,
                                "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                    return
                await send_outcome(send, 500, "exception", "internal error; it has been logged")


class SecurityHeaders:
    """Add the security headers to every response, and log it without its query."""

    def __init__(self, app: ASGIApp, *, behind_tls: bool = False,
                 log_requests: bool = True) -> None:
        self.app = app
        self.behind_tls = behind_tls
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began, status = time.perf_counter(), 0
        tls = self.behind_tls or scope.get("scheme") == "https"
        path: str = scope["path"]

        async def add_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in self._headers(path, tls):
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, add_headers)
        finally:
            if self.log_requests:
                client = scope.get("client") or ("-", 0)
                # The path only: a query string can carry a name and a date of birth.
                access_log.info('%s - "%s %s" %d %.1f ms', client[0], scope.get("method"),
                                path, status, (time.perf_counter() - began) * 1000)

    @staticmethod
    def _headers(path: str, tls: bool) -> list[tuple[str, str]]:
        headers = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                   ("X-Frame-Options", "DENY"), ("Cross-Origin-Resource-Policy", "same-origin"),
                   ("Content-Security-Policy", DOCS_CSP if path == "/docs" else CSP),
                   ("Cache-Control", "no-store")]  # responses carry patient data
        if tls:
            headers.append(("Strict-Transport-Security", HSTS))
        return headers
