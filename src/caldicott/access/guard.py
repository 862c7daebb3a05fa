"""Rate limits kept in process memory: failed authentications, and register searches.

Failed authentications are counted per presented token (by a hash of it) and
per client address. The first few in a window cost nothing; after that each
further attempt must wait twice as long as the one before (1 s, 2 s, 4 s ...),
and at the limit every attempt is refused until the window has passed. A
refused attempt gets 429 with ``Retry-After`` and is not even checked, so an
attacker learns nothing from it.

Why memory and not the database: a row written per failure would give anyone on
the network a way to make the service write (a denial-of-service lever, and one
that fails when the disk is full or the database read-only, exactly when
authentication must keep working); the check must cost microseconds before any
query. The price: each worker process counts on its own, so with N workers an
address gets up to N times the allowance, and a restart forgets. Both are
bounded (a handful of workers; a restart is not something a caller can cause),
and the keys held are capped, oldest first, so memory cannot be exhausted.

Register searches are paced per user: more than ``register_searches_per_minute``
in a minute is refused with 429, and the first refusal in a window flags the
user (a ledger entry and a log line, without any patient data).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from caldicott.errors import TooManyRequests

#: Distinct keys remembered per limiter; the least recently seen are forgotten first.
MAX_KEYS = 65_536


@dataclass
class _History:
    times: deque[float] = field(default_factory=deque)
    flagged_until: float = 0.0


class SlidingWindow:
    """Timestamps per key over the last ``window`` seconds (thread-safe, bounded)."""

    def __init__(self, window: float, keep: int, clock: Callable[[], float] = time.monotonic):
        self.window, self.keep, self.clock = window, keep, clock
        self._keys: OrderedDict[str, _History] = OrderedDict()
        self._lock = threading.Lock()

    def _history(self, key: str, now: float) -> _History:
        history = self._keys.get(key)
        if history is None:
            history = self._keys[key] = _History()
            while len(self._keys) > MAX_KEYS:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(key)
        while history.times and history.times[0] <= now - self.window:
            history.times.popleft()
        return history

    def recent(self, key: str) -> tuple[int, float, float]:
        """(count in the window, the oldest one's time, the newest one's time).

        Looking does not remember a key (every successful caller looks)."""
        now = self.clock()
        with self._lock:
            if key not in self._keys:
                return 0, now, now
            times = self._history(key, now).times
            return len(times), (times[0] if times else now), (times[-1] if times else now)

    def add(self, key: str) -> int:
        """Record one event now; the count in the window, this one included."""
        now = self.clock()
        with self._lock:
            history = self._history(key, now)
            history.times.append(now)
            while len(history.times) > self.keep:
                history.times.popleft()
            return len(history.times)

    def flag_once(self, key: str) -> bool:
        """True the first time in a window that ``key`` is flagged, then False until it ends."""
        now = self.clock()
        with self._lock:
            history = self._history(key, now)
            if history.flagged_until > now:
                return False
            history.flagged_until = now + self.window
            return True


class AuthFailureGuard:
    """Slows, then refuses, repeated failed authentications per token and per address.

    Example:
        >>> guard = AuthFailureGuard(limit=3, free=1, window=600)
        >>> guard.retry_after("address:192.0.2.1", None) is None
        True
    """

    def __init__(self, limit: int = 20, free: int = 5, window: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.free = limit, min(free, limit)
        self._failures = SlidingWindow(window, limit, clock)
        self.clock = clock
        self.counts: Counter[str] = Counter()  # failures since start, by reason

    def _wait(self, key: str) -> float:
        count, oldest, newest = self._failures.recent(key)
        now = self.clock()
        if count >= self.limit:
            return oldest + self._failures.window - now
        if count >= self.free:
            return newest + 2.0 ** (count - self.free) - now
        return 0.0

    def retry_after(self, address: str, token_key: str | None) -> int | None:
        """Seconds the caller must wait before trying again, or None to go ahead."""
        keys = [f"address:{address}"] + ([f"token:{token_key}"] if token_key else [])
        wait = max(self._wait(key) for key in keys)
        return math.ceil(wait) if wait > 0 else None

    def failed(self, address: str, token_key: str | None, reason: str) -> int:
        """Count one failure against the address and the token; the address's count."""
        self.counts[reason] += 1
        if token_key:
            self._failures.add(f"token:{token_key}")
        return self._failures.add(f"address:{address}")


class SearchPace:
    """Register searches per user per minute: over ``per_minute``, refuse and flag."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._searches = SlidingWindow(60.0, per_minute + 1, clock)
        self.clock = clock

    def check(self, user_id: int) -> tuple[int | None, bool]:
        """Count a search by ``user_id``. Returns (seconds to wait, or None if it may
        go ahead; True if this is the first refusal in the window, to be flagged)."""
        key = str(user_id)
        count, oldest, _ = self._searches.recent(key)
        if count >= self.per_minute:
            wait = max(1, math.ceil(oldest + 60.0 - self.clock()))
            return wait, self._searches.flag_once(key)
        self._searches.add(key)
        return None, False


def too_many(what: str, seconds: int) -> TooManyRequests:
    """The 429 a caller gets, with ``Retry-After``."""
    return TooManyRequests(f"{what}; try again in {seconds} s",
                           headers={"Retry-After": str(seconds)})
