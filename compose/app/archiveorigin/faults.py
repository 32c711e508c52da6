"""Fault knobs applied to every HTTP request (all off by default).

Implemented as a plain ASGI wrapper rather than Starlette's
BaseHTTPMiddleware: the latter adds a task and a queue per request, which
would itself show up as overhead in the load tests this app is a target for.
"""
from __future__ import annotations

import hashlib
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


class FaultMiddleware:
    def __init__(self, app, leak_bytes: int, cpu_burn_ms: int):
        self.app = app
        self.leak_bytes = leak_bytes
        self.cpu_burn_ms = cpu_burn_ms

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            if self.leak_bytes > 0:
                # b"\xa5" * n writes every byte, so the pages are really
                # resident (a zero-filled bytearray may stay untouched).
                _LEAKED.append(b"\xa5" * self.leak_bytes)
            if self.cpu_burn_ms > 0:
                burn_cpu(self.cpu_burn_ms)
        await self.app(scope, receive, send)
