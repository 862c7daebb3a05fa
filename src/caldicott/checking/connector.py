"""The Home Office checking service behind a :class:`StatusChecker` Protocol.

:class:`HttpStatusChecker` talks to it over HTTP (httpx): a timeout on every attempt;
retries (tenacity) only of what is safe to repeat, because every attempt carries the
check's own ``Idempotency-Key`` and the service answers a repeated key with the answer
it already gave, never a second call; and a circuit breaker (pybreaker) that stops
sending for a while after repeated failures, so a down service costs no one a wait.
:class:`InMemoryStatusChecker` answers from the same synthetic records without a network.
Which one is used follows from settings (``CALDICOTT_CHECKING_URL``).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol

import httpx
import pybreaker
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from caldicott.checking.core.answers import StatusAnswer
from caldicott.checking.core.oracle import answer_for
from caldicott.errors import ServiceUnavailable
from caldicott.settings import Settings

FailureKind = Literal["timeout", "unavailable", "refused"]


@dataclass(frozen=True, slots=True)
class Reply:
    """The outcome of sending one check: an answer, or why there is none."""

    answer: StatusAnswer | None
    failure: FailureKind | None = None
    message: str = ""
    reached: bool = True  # whether the body may have reached the Home Office
    attempts: int = 1
    #: the call's start and end as the Home Office measured them (what it bills), if given
    call: tuple[dt.datetime, dt.datetime] | None = None


class StatusChecker(Protocol):
    """Anything that can put one check to the Home Office checking service."""

    def check(self, body: dict[str, Any], key: str) -> Reply:
        """Send ``body`` under idempotency ``key``; never raises for the service's failures."""
        ...


class _Transient(Exception):
    """A failure worth another attempt (a 5xx, a dropped connection, a timeout)."""

    def __init__(self, message: str, *, timed_out: bool, reached: bool) -> None:
        super().__init__(message)
        self.timed_out, self.reached = timed_out, reached


class _Refused(Exception):
    """The service refused the body itself (4xx): our fault, not its health."""


@dataclass
class HttpStatusChecker:
    """The real connector. One per service URL per process (the breaker's memory)."""

    url: str
    timeout: float = 2.0
    attempts: int = 3
    breaker_failures: int = 5
    breaker_reset: float = 30.0
    client: httpx.Client = field(init=False, repr=False)
    breaker: pybreaker.CircuitBreaker = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=self.timeout)
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=self.breaker_failures, reset_timeout=self.breaker_reset,
            exclude=[_Refused], throw_new_error_on_trip=False, name="home-office-checking")

    def close(self) -> None:
        self.client.close()

    def check(self, body: dict[str, Any], key: str) -> Reply:
        tries = {"n": 0}
        try:
            answer, call = self.breaker.call(self._with_retries, body, key, tries)
        except pybreaker.CircuitBreakerError:
            return Reply(None, "unavailable", self._open_message(), reached=False, attempts=0)
        except _Transient as error:
            kind: FailureKind = "timeout" if error.timed_out else "unavailable"
            return Reply(None, kind, str(error), reached=error.reached, attempts=tries["n"])
        except _Refused as error:
            return Reply(None, "refused", str(error), reached=True, attempts=tries["n"])
        return Reply(answer, attempts=tries["n"], call=call)

    def _open_message(self) -> str:
        return (f"the Home Office checking service is unavailable: {self.breaker_failures} "
                f"checks failed in a row, so caldicott stopped sending for "
                f"{self.breaker_reset:g} s")

    def _with_retries(self, body: dict[str, Any], key: str,
                      tries: dict[str, int]) -> tuple[StatusAnswer, CallTimes | None]:
        retrying = Retrying(stop=stop_after_attempt(self.attempts),
                            wait=wait_exponential(multiplier=0.05, max=1.0),
                            retry=retry_if_exception_type(_Transient), reraise=True)
        for attempt in retrying:
            with attempt:
                tries["n"] += 1
                return self._once(body, key)
        raise AssertionError("unreachable: tenacity reraises the last failure")

    def _once(self, body: dict[str, Any], key: str) -> tuple[StatusAnswer, CallTimes | None]:
        try:
            response = self.client.post("/checks", json=body, headers={"Idempotency-Key": key})
        except httpx.TimeoutException:
            raise _Transient(f"the Home Office checking service did not answer within "
                             f"{self.timeout:g} s", timed_out=True, reached=True) from None
        except httpx.TransportError as error:
            raise _Transient(f"the Home Office checking service could not be reached "
                             f"({type(error).__name__})", timed_out=False,
                             reached=False) from None
        if response.status_code >= 500:
            raise _Transient(f"the Home Office checking service failed "
                             f"(HTTP {response.status_code})", timed_out=False, reached=True)
        if response.status_code >= 400:
            raise _Refused(f"the Home Office checking service refused the check "
                           f"(HTTP {response.status_code})")
        data = response.json()
        return (StatusAnswer(str(data["immigration_status"]), str(data["evidence"])),
                call_times(data))


CallTimes = tuple[dt.datetime, dt.datetime]
LONGEST_CALL = dt.timedelta(hours=24)


def call_times(data: dict[str, Any]) -> CallTimes | None:
    """The call's start and end from an answer (None when it gives none).

    Raises:
        _Refused: they are not two zoned ISO timestamps, the end before the start, or a
            call longer than a day: an answer no one could bill from.

    Example:
        >>> call_times({"call_started": "2017-06-01T09:00:00+00:00",
        ...             "call_ended": "2017-06-01T09:08:00+00:00"})[1].minute
        8
    """
    if data.get("call_started") is None and data.get("call_ended") is None:
        return None
    try:
        started = dt.datetime.fromisoformat(str(data["call_started"]))
        ended = dt.datetime.fromisoformat(str(data["call_ended"]))
    except (KeyError, ValueError):
        raise _Refused("the Home Office checking service's answer gave unreadable call "
                       "times") from None
    if started.tzinfo is None or ended.tzinfo is None or not (
            dt.timedelta(0) <= ended - started <= LONGEST_CALL):
        raise _Refused("the Home Office checking service's answer gave impossible call "
                       "times") from None
    return started.astimezone(dt.UTC), ended.astimezone(dt.UTC)


@dataclass
class InMemoryStatusChecker:
    """The fake at the seam: answers from the synthetic records, remembers every body."""

    received: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, StatusAnswer] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, body: dict[str, Any], key: str) -> Reply:
        with self.lock:
            if key not in self.answers:
                self.received.append(body)
                self.answers[key] = answer_for(body["person"])
            return Reply(self.answers[key])


_IN_MEMORY = InMemoryStatusChecker()


def connector_for(settings: Settings) -> StatusChecker:
    """The connector the settings choose: HTTP to ``checking_url``, or the in-memory fake
    when none is set (development and tests only)."""
    if not settings.checking_url:
        if settings.environment == "production":
            raise ServiceUnavailable("CALDICOTT_CHECKING_URL is not set: in production "
                                     "caldicott sends no status check to a stand-in")
        return _IN_MEMORY
    return _http(settings.checking_url, settings.checking_timeout_seconds,
                 settings.checking_attempts, settings.checking_breaker_failures,
                 settings.checking_breaker_reset_seconds)


@lru_cache(maxsize=8)
def _http(url: str, timeout: float, attempts: int, failures: int,
          reset: float) -> HttpStatusChecker:
    return HttpStatusChecker(url, timeout, attempts, failures, reset)
