"""Fault knobs applied to every HTTP request (all off by default).

Implemented as a plain ASGI wrapper rather than Starlette's
BaseHTTPMiddleware: the latter adds a task and a queue per request, which
would itself show up as overhead in the load tests this app is a target for.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import time

# LEAK_BYTES_PER_REQUEST appends here and nothing ever removes: a real leak.
_LEAKED: list = []


def leaked_bytes() -> int:
    return sum(len(b) for b in _LEAKED)


def burn_cpu(ms: int) -> None:
    """Busy-loop on the event loop thread for `ms` of wall time.

    Hashing keeps the core genuinely busy (not sleeping), and running it on
    the loop thread blocks other requests, like a CPU-heavy handler would.
    """
    deadline = time.perf_counter() + ms / 1000.0
    digest = b"archiveorigin"
    while time.perf_counter() < deadline:
        for _ in range(200):
            digest = hashlib.sha256(digest).digest()


async def _send_500(send) -> None:
    body = b'{"detail":"injected fault: FAIL_500"}'
    await send({
        "type": "http.response.start",
        "status": 500,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


class SlowAfterLoad:
    """Lingering slowness (metastable-like): once a second with at least
    `high_rps` requests is followed by a quieter one, every request waits
    `delay_ms` more for the next `for_s` seconds. Rates are counted in whole
    seconds of the monotonic clock; /health is counted too (it is load).

    With `arm_s` > 0 nothing is counted until `arm_s` seconds after load
    began (the first request that is not GET /health): a start-up burst, such
    as every user enrolling at once, is not the overload the knob follows."""

    def __init__(self, for_s: int, delay_ms: int, high_rps: int, arm_s: int = 0):
        self.for_s = for_s
        self.delay_s = delay_ms / 1000.0
        self.high_rps = high_rps
        self.arm_s = arm_s
        self.armed_at: float | None = None
        self.second = -1
        self.count = 0
        self.high = False
        self.slow_until = 0.0

    def delay(self, now: float, path: str | None = None) -> float:
        """Counts this request; returns the seconds it must wait (0 when not slow)."""
        if self.arm_s > 0:
            if self.armed_at is None:
                if path == "/health":
                    return 0.0
                self.armed_at = now + self.arm_s
            if now < self.armed_at:
                return 0.0
        sec = int(now)
        if sec != self.second:
            if self.second >= 0:
                if self.count >= self.high_rps:
                    self.high = True
                elif self.high:
                    # the load dropped: slow from the start of the first quiet second
                    self.high = False
                    self.slow_until = self.second + self.for_s
                if sec > self.second + 1 and self.high:
                    # whole seconds without a request are quiet seconds too
                    self.high = False
                    self.slow_until = self.second + 1 + self.for_s
            self.second = sec
            self.count = 0
        self.count += 1
        return self.delay_s if now < self.slow_until else 0.0


class FaultMiddleware:
    """Per-request knobs, plus timed faults whose clock starts at the first
    request that is not GET /health (i.e. when load begins, not when the
    container's healthcheck first probes):

      FAIL_500_AFTER_S / FAIL_500_FOR_S  every request answers 500 in
                                         [after, after + for) seconds
      HANG_AFTER_S                       from then on requests never answer
      EXIT_AFTER_S / EXIT_CODE           the process exits with EXIT_CODE

    and one load-triggered knob (SlowAfterLoad):

      SLOW_AFTER_LOAD_S / SLOW_AFTER_LOAD_DELAY_MS / SLOW_AFTER_LOAD_RPS
                                         after a second of >= RPS requests is
                                         followed by a quieter one, requests
                                         wait DELAY_MS more for S seconds
      SLOW_AFTER_LOAD_ARM_S              ...counting from ARM_S seconds after
                                         load began (0: from the first request)
    """

    def __init__(self, app, leak_bytes: int, cpu_burn_ms: int, fail_500_after_s: int = 0,
                 fail_500_for_s: int = 0, hang_after_s: int = 0, exit_after_s: int = 0, exit_code: int = 1,
                 slow_after_load_s: int = 0, slow_after_load_delay_ms: int = 200, slow_after_load_rps: int = 300,
                 slow_after_load_arm_s: int = 0):
        self.app = app
        self.leak_bytes = leak_bytes
        self.cpu_burn_ms = cpu_burn_ms
        self.fail_500_after_s = fail_500_after_s
        self.fail_500_for_s = fail_500_for_s
        self.hang_after_s = hang_after_s
        self.exit_after_s = exit_after_s
        self.exit_code = exit_code
        self.timed = fail_500_for_s > 0 or hang_after_s > 0 or exit_after_s > 0
        self.load_started: float | None = None
        self.slow_after_load = (
            SlowAfterLoad(slow_after_load_s, slow_after_load_delay_ms, slow_after_load_rps, slow_after_load_arm_s)
            if slow_after_load_s > 0 else None
        )

    def _clock(self, scope) -> float | None:
        """Seconds since load began (None before the first non-health request)."""
        if self.load_started is None and scope.get("path") != "/health":
            self.load_started = time.monotonic()
            if self.exit_after_s > 0:
                asyncio.get_running_loop().call_later(self.exit_after_s, os._exit, self.exit_code)
        return None if self.load_started is None else time.monotonic() - self.load_started

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            if self.timed:
                t = self._clock(scope)
                if t is not None:
                    if self.hang_after_s > 0 and t >= self.hang_after_s:
                        # never answers; the client's timeout ends it (bounded so nothing lingers forever)
                        await asyncio.sleep(3600)
                        return
                    if self.fail_500_for_s > 0 and self.fail_500_after_s <= t < self.fail_500_after_s + self.fail_500_for_s:
                        await _send_500(send)
                        return
            if self.slow_after_load is not None:
                wait_s = self.slow_after_load.delay(time.monotonic(), scope.get("path"))
                if wait_s > 0:
                    # asleep, not busy: the app is slow without burning CPU, like a backlog or a cold cache
                    await asyncio.sleep(wait_s)
            if self.leak_bytes > 0:
                # b"\xa5" * n writes every byte, so the pages are really
                # resident (a zero-filled bytearray may stay untouched).
                _LEAKED.append(b"\xa5" * self.leak_bytes)
            if self.cpu_burn_ms > 0:
                burn_cpu(self.cpu_burn_ms)
        await self.app(scope, receive, send)


# --- slow-query burst (SLOW_QUERY_BURST_*): a self-contained knob ------------

class SlowQueryBurstMiddleware:
    """A window of slow queries, for the tail-episode tests:

      SLOW_QUERY_BURST_AT_S / SLOW_QUERY_BURST_FOR_S / SLOW_QUERY_BURST_MS
          in [at, at + for) seconds after load began (first request that is
          not GET /health), every request but /health first runs
          SELECT pg_sleep(ms / 1000) on a pooled connection.

    Like real slow queries they hold pool connections (so the pool can fill
    and /health fail); Postgres shows them as active sessions waiting on
    Timeout (PgSleep). Off when SLOW_QUERY_BURST_FOR_S is 0.
    """

    def __init__(self, app, at_s: int = 0, for_s: int = 0, sleep_ms: int = 1000):
        self.app = app
        self.at_s = at_s
        self.for_s = for_s
        self.sleep_s = sleep_ms / 1000.0
        self.load_started: float | None = None

    async def __call__(self, scope, receive, send):
        if self.for_s > 0 and scope["type"] == "http" and scope.get("path") != "/health":
            now = time.monotonic()
            if self.load_started is None:
                self.load_started = now
            t = now - self.load_started
            # Starlette puts the application itself in the scope; its pool is set at start-up
            pool = getattr(getattr(scope.get("app"), "state", None), "pool", None)
            if pool is not None and self.at_s <= t < self.at_s + self.for_s:
                await pool.fetchval("SELECT pg_sleep($1)", self.sleep_s)
        await self.app(scope, receive, send)
