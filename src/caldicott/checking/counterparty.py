"""A stand-in for the Home Office checking service: a small separate HTTP app, run as
its own process on loopback by the tests and the demo.

    python -m caldicott.checking.counterparty --port 8700 [--latency-ms 50]
        [--error-rate 0.1] [--outage] [--call-minutes 8] [--record FILE]
    caldicott checking counterparty --port 8700

``POST /checks`` answers a check from the synthetic records (the same as the in-memory
fake). A repeated ``Idempotency-Key`` gets the answer already given and is not counted
as a new call. Each answer carries the call's start and end as the service measured
them (``call_started``, ``call_ended``: what the Home Office bills): the start is when
the check arrived, the end ``call_minutes`` later (the stand-in does not really wait).
Its behaviour can be changed while it runs, for tests and the demo:
``POST /_control`` with ``latency_ms``, ``error_rate``, ``outage`` (every check a 503),
``call_minutes``,
``fail_next`` (the next N checks are processed, then answered 503: a lost answer) and
``reset``. ``GET /_received`` lists every body it received, exactly as received.
It binds to loopback only: it is a test double, never a service.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from caldicott.checking.core.oracle import answer_for


@dataclass
class Behaviour:
    latency_ms: int = 0
    error_rate: float = 0.0
    outage: bool = False
    fail_next: int = 0
    call_minutes: float = 8.0  # the seeds' "around eight minutes"


@dataclass
class _State:
    behaviour: Behaviour
    record: Path | None
    received: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, dict[str, str]] = field(default_factory=dict)
    random: random.Random = field(default_factory=lambda: random.Random(2016))


def create_counterparty(behaviour: Behaviour | None = None,
                        record: Path | None = None) -> FastAPI:
    """The checking service's stand-in app."""
    state = _State(behaviour or Behaviour(), record)
    app = FastAPI(title="Home Office checking service (stand-in)", docs_url=None,
                  redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/checks")
    async def check(request: Request,
                    key: str = Header(alias="Idempotency-Key", min_length=1)) -> JSONResponse:
        now = state.behaviour
        if now.latency_ms:
            await asyncio.sleep(now.latency_ms / 1000)
        if now.outage:
            return JSONResponse({"error": "service unavailable"}, status_code=503)
        if key in state.answers:  # a retry: the same answer, not a second call
            return JSONResponse({**state.answers[key], "replayed": True})
        body = await request.json()
        _remember(state, body)
        if now.error_rate and state.random.random() < now.error_rate:
            return JSONResponse({"error": "internal error"}, status_code=500)
        answer = answer_for(body["person"])
        started = dt.datetime.now(dt.UTC)
        ended = started + dt.timedelta(minutes=now.call_minutes)
        state.answers[key] = {"immigration_status": answer.immigration_status,
                              "evidence": answer.evidence,
                              "call_started": started.isoformat(),
                              "call_ended": ended.isoformat()}
        if now.fail_next > 0:  # processed, then the answer is lost on the way back
            now.fail_next -= 1
            return JSONResponse({"error": "bad gateway"}, status_code=503)
        return JSONResponse(state.answers[key])

    @app.post("/_control")
    async def control(change: dict[str, Any]) -> dict[str, Any]:
        if change.pop("reset", False):
            state.received.clear()
            state.answers.clear()
        for name, value in change.items():
            if hasattr(state.behaviour, name):
                setattr(state.behaviour, name, value)
        return {**asdict(state.behaviour), "received": len(state.received),
                "calls": len(state.answers)}

    @app.get("/_received")
    async def received() -> list[dict[str, Any]]:
        return state.received

    return app


def _remember(state: _State, body: dict[str, Any]) -> None:
    state.received.append(body)
    if state.record is not None:
        with state.record.open("a", encoding="utf-8") as out:
            out.write(json.dumps(body, sort_keys=True) + "\n")


def run(port: int, behaviour: Behaviour, record: Path | None = None) -> None:
    """Serve the stand-in on 127.0.0.1 (loopback only) until interrupted."""
    import uvicorn

    uvicorn.run(create_counterparty(behaviour, record), host="127.0.0.1", port=port,
                log_level="warning", access_log=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--outage", action="store_true")
    parser.add_argument("--call-minutes", type=float, default=8.0,
                        help="each call's length as the service reports it (no real wait)")
    parser.add_argument("--record", type=Path, default=None)
    args = parser.parse_args(argv)
    run(args.port, Behaviour(args.latency_ms, args.error_rate, args.outage,
                         call_minutes=args.call_minutes), args.record)


if __name__ == "__main__":
    main()
