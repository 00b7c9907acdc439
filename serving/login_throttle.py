"""Login throttling: too many failed logins for one account, or from one client, are refused
for a while with 429 and a Retry-After, before any password is checked.

In-process (a sliding window of failure times per account and per client address): each API
process counts on its own, so with N processes an attacker gets at most N times the budget.
Unknown usernames are counted like real ones, so the throttle tells nothing about who exists.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_TRACKED = 50_000  # a flood of random usernames cannot grow memory without bound


@dataclass(frozen=True)
class Refusal:
    reason: str
    retry_after: int  # whole seconds until the oldest counted failure leaves the window


class LoginThrottle:
    def __init__(
        self,
        max_per_account: int,
        max_per_client: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_per_account = max_per_account
        self.max_per_client = max_per_client
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # login runs in worker threads

    @staticmethod
    def _account(username: str) -> str:
        return f"account:{username.casefold()}"

    @staticmethod
    def _client(address: str) -> str:
        return f"client:{address}"

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def check(self, username: str, address: str) -> Refusal | None:
        """None when this login may be tried; else why not and for how long."""
        now = self._clock()
        with self._lock:
            for key, limit, reason in (
                (self._account(username), self.max_per_account, "too many failed logins for this account"),
                (self._client(address), self.max_per_client, "too many failed logins from this client"),
            ):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = times[len(times) - limit] + self.window - now
                    return Refusal(reason, max(1, math.ceil(wait)))
        return None

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED:
                self._prune(now)
            for key in (self._account(username), self._client(address)):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        """A correct password clears the account's count (not the client's: one good account
        must not reset an address that is guessing others)."""
        with self._lock:
            self._failures.pop(self._account(username), None)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        if len(self._failures) >= MAX_TRACKED:  # all recent: forget the oldest half
            oldest = sorted(self._failures, key=lambda k: self._failures[k][-1])
            for key in oldest[: len(oldest) // 2]:
                del self._failures[key]
