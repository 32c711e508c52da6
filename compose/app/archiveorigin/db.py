"""asyncpg pool creation (with start-up retry) and the schema."""
from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

from settings import Settings

log = logging.getLogger("archiveorigin")

APPLICATION_NAME = "archiveorigin"

# Arbitrary constant: serialises schema creation if several app instances
# start against one database (CREATE ... IF NOT EXISTS can still race).
_SCHEMA_LOCK_KEY = 0x4172636869766500

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id          TEXT PRIMARY KEY,
    device_token_sha256 TEXT NOT NULL,
    device_name        TEXT NOT NULL,
    os_version         TEXT NOT NULL,
    -- head of this device's ledger chain; the row is locked FOR UPDATE while
    -- appending, which serialises concurrent appends for one device.
    head_seq           BIGINT NOT NULL DEFAULT 0,
    head_hash          TEXT NOT NULL DEFAULT repeat('0', 64),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Only the sha256 of a token is stored: a database dump leaks no usable token.
CREATE TABLE IF NOT EXISTS enrollment_tokens (
    token_sha256 TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL REFERENCES devices(device_id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS enrollment_tokens_device_idx
    ON enrollment_tokens (device_id);

CREATE TABLE IF NOT EXISTS proofs (
    id          BIGSERIAL PRIMARY KEY,
    device_id   TEXT NOT NULL REFERENCES devices(device_id) ON DELETE CASCADE,
    capture_id  TEXT NOT NULL,
    proof_data  TEXT NOT NULL,
    metadata    JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS ledger_entries (
    id          BIGSERIAL PRIMARY KEY,
    device_id   TEXT NOT NULL REFERENCES devices(device_id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    proof_id    BIGINT NOT NULL REFERENCES proofs(id) ON DELETE CASCADE,
    capture_id  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    entry_hash  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- a second line of defence: a broken lock would make two entries share
    -- a seq and fail here instead of silently forking the chain.
    UNIQUE (device_id, seq)
);
"""


async def create_pool(settings: Settings) -> asyncpg.Pool:
    """Create the pool, retrying until db_connect_timeout_s has passed.

    The app may start while Postgres is still running initdb; every error
    (refused, "the database system is starting up", ...) is retried.
    """
    deadline = time.monotonic() + settings.db_connect_timeout_s
    attempt = 0
    while True:
        attempt += 1
        pool = None
        try:
            pool = await asyncpg.create_pool(
                dsn=settings.database_url,
                min_size=settings.pool_min,
                max_size=settings.pool_max,
                # Per-connection server settings: pg_stat_activity shows the
                # pool as application_name=archiveorigin, and a runaway query
                # is cancelled by the server after STATEMENT_TIMEOUT_MS.
                server_settings={
                    "application_name": APPLICATION_NAME,
                    "statement_timeout": str(settings.statement_timeout_ms),
                },
                timeout=5.0,
            )
            await init_schema(pool)
            return pool
        except Exception as exc:  # noqa: BLE001 - any failure is retried
            if pool is not None:
                pool.terminate()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.error("database not reachable after %d attempts: %r", attempt, exc)
                raise
            log.warning("database not ready (attempt %d): %r; retrying", attempt, exc)
            await asyncio.sleep(min(1.0, remaining))


async def init_schema(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK_KEY)
            await conn.execute(SCHEMA)
