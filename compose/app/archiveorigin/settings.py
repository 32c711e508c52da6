"""Effective configuration, read from the environment in exactly one place.

Every knob the load-test orchestrator may set lives here so that run.py,
main.py and the start-up log line all agree on the same values.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        # Fail fast: a typo in a fault knob must not silently disable it.
        raise SystemExit(f"archiveorigin: {name}={raw!r} is not an integer")
    if value < minimum:
        raise SystemExit(f"archiveorigin: {name}={value} must be >= {minimum}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str
    app_host: str
    app_port: int
    pool_min: int
    pool_max: int
    statement_timeout_ms: int
    db_connect_timeout_s: int
    leak_bytes_per_request: int
    slow_query_ms: int
    cpu_burn_ms: int
    fail_500_after_s: int = 0
    fail_500_for_s: int = 0
    hang_after_s: int = 0
    exit_after_s: int = 0
    exit_code: int = 1
    slow_after_load_s: int = 0
    slow_after_load_delay_ms: int = 200
    slow_after_load_rps: int = 300
    slow_after_load_arm_s: int = 0
    # slow-query burst (faults.SlowQueryBurstMiddleware)
    slow_query_burst_at_s: int = 0
    slow_query_burst_for_s: int = 0
    slow_query_burst_ms: int = 1000

    def redacted_database_url(self) -> str:
        """DATABASE_URL with the password replaced, for logs."""
        parts = urlsplit(self.database_url)
        if parts.password is None:
            return self.database_url
        netloc = parts.netloc.rsplit("@", 1)
        user = (parts.username or "")
        host = netloc[1] if len(netloc) == 2 else ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))

    def summary(self) -> str:
        return (
            f"database_url={self.redacted_database_url()} "
            f"app_host={self.app_host} app_port={self.app_port} "
            f"pool_min={self.pool_min} pool_max={self.pool_max} "
            f"statement_timeout_ms={self.statement_timeout_ms} "
            f"db_connect_timeout_s={self.db_connect_timeout_s} "
            f"leak_bytes_per_request={self.leak_bytes_per_request} "
            f"slow_query_ms={self.slow_query_ms} cpu_burn_ms={self.cpu_burn_ms} "
            f"fail_500_after_s={self.fail_500_after_s} fail_500_for_s={self.fail_500_for_s} "
            f"hang_after_s={self.hang_after_s} exit_after_s={self.exit_after_s} exit_code={self.exit_code} "
            f"slow_after_load_s={self.slow_after_load_s} slow_after_load_delay_ms={self.slow_after_load_delay_ms} "
            f"slow_after_load_rps={self.slow_after_load_rps} slow_after_load_arm_s={self.slow_after_load_arm_s}"
            + self.slow_query_burst_summary()
        )

    def slow_query_burst_summary(self) -> str:
        return (
            f" slow_query_burst_at_s={self.slow_query_burst_at_s}"
            f" slow_query_burst_for_s={self.slow_query_burst_for_s}"
            f" slow_query_burst_ms={self.slow_query_burst_ms}"
        )


def load() -> Settings:
    pool_max = _int("POOL_MAX", 20, minimum=1)
    # POOL_MIN is clamped to POOL_MAX so lowering only POOL_MAX (a fault knob)
    # never makes asyncpg refuse to start.
    pool_min = min(_int("POOL_MIN", 5, minimum=0), pool_max)
    return Settings(
        database_url=os.environ.get(
            "DATABASE_URL",
            "postgres://loadscope:loadscope@127.0.0.1:55432/archiveorigin",
        ),
        app_host=os.environ.get("APP_HOST", "127.0.0.1") or "127.0.0.1",
        app_port=_int("APP_PORT", 8000, minimum=1),
        pool_min=pool_min,
        pool_max=pool_max,
        statement_timeout_ms=_int("STATEMENT_TIMEOUT_MS", 5000),
        db_connect_timeout_s=_int("DB_CONNECT_TIMEOUT_S", 30, minimum=1),
        leak_bytes_per_request=_int("LEAK_BYTES_PER_REQUEST", 0),
        slow_query_ms=_int("SLOW_QUERY_MS", 0),
        cpu_burn_ms=_int("CPU_BURN_MS", 0),
        fail_500_after_s=_int("FAIL_500_AFTER_S", 0),
        fail_500_for_s=_int("FAIL_500_FOR_S", 0),
        hang_after_s=_int("HANG_AFTER_S", 0),
        exit_after_s=_int("EXIT_AFTER_S", 0),
        exit_code=_int("EXIT_CODE", 1),
        slow_after_load_s=_int("SLOW_AFTER_LOAD_S", 0),
        slow_after_load_delay_ms=_int("SLOW_AFTER_LOAD_DELAY_MS", 200),
        slow_after_load_rps=_int("SLOW_AFTER_LOAD_RPS", 300, minimum=1),
        slow_after_load_arm_s=_int("SLOW_AFTER_LOAD_ARM_S", 0),
        slow_query_burst_at_s=_int("SLOW_QUERY_BURST_AT_S", 0),
        slow_query_burst_for_s=_int("SLOW_QUERY_BURST_FOR_S", 0),
        slow_query_burst_ms=_int("SLOW_QUERY_BURST_MS", 1000),
    )


SETTINGS = load()
