"""ArchiveOrigin: the reference system under test for loadscope.

Endpoints: POST /device/enroll, POST /lock-proof, GET /ledger/entries,
GET /health. See README.md beside this file for the token semantics,
the hash chain and the environment.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import secrets
from typing import Any, Dict, Optional

import asyncpg
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, constr, validator

import db
import ledger
from faults import FaultMiddleware, SlowQueryBurstMiddleware
from settings import SETTINGS

log = logging.getLogger("archiveorigin")
if not log.handlers:
    # Own handler, no propagation: uvicorn's loggers propagate to the root
    # logger, so configuring the root would print uvicorn's lines twice.
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False

LEDGER_DEFAULT_LIMIT = 20
LEDGER_MAX_LIMIT = 100
HEALTH_TIMEOUT_S = 1.0

# strict=True: pydantic 1.x would otherwise coerce 123 -> "123"; a load test
# sending a wrong type must get 422, not silent acceptance.
Id = constr(strict=True, min_length=1, max_length=256)
Text = constr(strict=True, max_length=1024)
ProofData = constr(strict=True, min_length=1, max_length=1_000_000)


def _no_nul(value: str) -> str:
    # PostgreSQL TEXT cannot hold NUL; reject with 422 instead of a 500.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class EnrollRequest(BaseModel):
    device_id: Id
    device_token: Id
    device_name: Text
    os_version: Text

    _nul = validator("device_id", "device_token", "device_name", "os_version", allow_reuse=True)(_no_nul)


class LockProofRequest(BaseModel):
    capture_id: Id
    proof_data: ProofData
    metadata: Dict[str, Any]

    _nul = validator("capture_id", "proof_data", allow_reuse=True)(_no_nul)

    @validator("metadata", pre=True)
    def metadata_must_be_object(cls, value):  # noqa: N805 - pydantic API
        # pydantic 1.x would turn [["k", "v"]] into a dict; only a JSON
        # object is acceptable.
        if not isinstance(value, dict):
            raise ValueError("metadata must be a JSON object")
        try:
            text = json.dumps(value, allow_nan=False)
        except ValueError:
            raise ValueError("metadata must not contain NaN or Infinity")
        if "\\u0000" in text:
            raise ValueError("metadata must not contain NUL characters")
        return value


app = FastAPI(title="ArchiveOrigin", version="1.0.0")
app.state.pool = None
# Plain ASGI middleware: the knobs apply to every HTTP request, /health too.
app.add_middleware(
    FaultMiddleware,
    leak_bytes=SETTINGS.leak_bytes_per_request,
    cpu_burn_ms=SETTINGS.cpu_burn_ms,
    fail_500_after_s=SETTINGS.fail_500_after_s,
    fail_500_for_s=SETTINGS.fail_500_for_s,
    hang_after_s=SETTINGS.hang_after_s,
    exit_after_s=SETTINGS.exit_after_s,
    exit_code=SETTINGS.exit_code,
    slow_after_load_s=SETTINGS.slow_after_load_s,
    slow_after_load_delay_ms=SETTINGS.slow_after_load_delay_ms,
    slow_after_load_rps=SETTINGS.slow_after_load_rps,
    slow_after_load_arm_s=SETTINGS.slow_after_load_arm_s,
)
app.add_middleware(
    SlowQueryBurstMiddleware,
    at_s=SETTINGS.slow_query_burst_at_s,
    for_s=SETTINGS.slow_query_burst_for_s,
    sleep_ms=SETTINGS.slow_query_burst_ms,
)


@app.on_event("startup")
async def startup() -> None:
    # One line with the effective settings (password redacted).
    log.info("archiveorigin starting: %s", SETTINGS.summary())
    app.state.pool = await db.create_pool(SETTINGS)
    log.info("archiveorigin ready: pool %d..%d connections", SETTINGS.pool_min, SETTINGS.pool_max)


@app.on_event("shutdown")
async def shutdown() -> None:
    pool = app.state.pool
    if pool is not None:
        try:
            await asyncio.wait_for(pool.close(), timeout=5.0)
        except Exception:  # noqa: BLE001 - shutting down anyway
            pool.terminate()


def pool() -> asyncpg.Pool:
    return app.state.pool


# --- errors -----------------------------------------------------------------
# A database that is down or overloaded is a 503/504, not an opaque 500, so
# the load-test report can tell "SUT's database failed" from "SUT bug".

@app.exception_handler(asyncpg.QueryCanceledError)
async def _statement_timeout(request: Request, exc: asyncpg.QueryCanceledError):
    return JSONResponse(status_code=504, content={"detail": "database statement timeout"})


@app.exception_handler(asyncpg.PostgresConnectionError)
@app.exception_handler(asyncpg.InterfaceError)
@app.exception_handler(asyncpg.CannotConnectNowError)
@app.exception_handler(ConnectionError)
@app.exception_handler(OSError)
@app.exception_handler(asyncio.TimeoutError)
async def _db_unavailable(request: Request, exc: Exception):
    return JSONResponse(status_code=503, content={"detail": "database unavailable"})


# --- auth -------------------------------------------------------------------

def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def current_device(authorization: Optional[str] = Header(default=None)) -> str:
    """Resolve `Authorization: Bearer <token>` to a device_id, else 401."""
    unauthorized = HTTPException(
        status_code=401,
        detail="missing or invalid bearer token",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if not authorization:
        raise unauthorized
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized
    device_id = await pool().fetchval(
        "SELECT device_id FROM enrollment_tokens WHERE token_sha256 = $1",
        _token_digest(token),
    )
    if device_id is None:
        raise unauthorized
    return device_id


# --- endpoints --------------------------------------------------------------

@app.get("/health")
async def health():
    # Healthy only if the pool can run SELECT 1 within ~1 s (acquire included:
    # an exhausted pool is reported as unhealthy too).
    p = pool()
    try:
        if p is None:
            raise RuntimeError("pool not ready")
        await asyncio.wait_for(p.fetchval("SELECT 1"), timeout=HEALTH_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        return JSONResponse(status_code=503, content={"status": "unavailable", "error": type(exc).__name__})
    return {"status": "ok"}


@app.post("/device/enroll")
async def enroll(body: EnrollRequest):
    """Enroll (or re-enroll) a device and issue a fresh enrollment token.

    Re-enrolling keeps earlier tokens valid: several virtual users of a load
    test may share a device_id, and invalidating would turn that into
    spurious 401s. Device name/os_version/device_token are updated.
    """
    token = secrets.token_urlsafe(32)
    async with pool().acquire() as conn:
        async with conn.transaction():
            await conn.execute(
                """
                INSERT INTO devices (device_id, device_token_sha256, device_name, os_version)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (device_id) DO UPDATE
                   SET device_token_sha256 = EXCLUDED.device_token_sha256,
                       device_name = EXCLUDED.device_name,
                       os_version = EXCLUDED.os_version,
                       updated_at = now()
                """,
                body.device_id,
                _token_digest(body.device_token),
                body.device_name,
                body.os_version,
            )
            await conn.execute(
                "INSERT INTO enrollment_tokens (token_sha256, device_id) VALUES ($1, $2)",
                _token_digest(token),
                body.device_id,
            )
    return {"enrollment_token": token, "device_id": body.device_id}


@app.post("/lock-proof")
async def lock_proof(body: LockProofRequest, device_id: str = Depends(current_device)):
    metadata_json = json.dumps(body.metadata, separators=(",", ":"), ensure_ascii=False)
    async with pool().acquire() as conn:
        async with conn.transaction():
            # Row lock on the device serialises appends for this device only;
            # other devices proceed in parallel.
            head = await conn.fetchrow(
                "SELECT head_seq, head_hash FROM devices WHERE device_id = $1 FOR UPDATE",
                device_id,
            )
            if head is None:  # device deleted under a still-known token
                raise HTTPException(status_code=401, detail="unknown device",
                                    headers={"WWW-Authenticate": "Bearer"})
            proof_id = await conn.fetchval(
                """
                INSERT INTO proofs (device_id, capture_id, proof_data, metadata)
                VALUES ($1, $2, $3, $4::jsonb) RETURNING id
                """,
                device_id, body.capture_id, body.proof_data, metadata_json,
            )
            seq = head["head_seq"] + 1
            prev_hash = head["head_hash"]
            payload = ledger.canonical_payload(
                device_id=device_id, seq=seq, proof_id=proof_id,
                capture_id=body.capture_id, proof_data=body.proof_data,
                metadata=body.metadata,
            )
            entry_hash = ledger.entry_hash(prev_hash, payload)
            entry = await conn.fetchrow(
                """
                INSERT INTO ledger_entries
                    (device_id, seq, proof_id, capture_id, payload, prev_hash, entry_hash)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                RETURNING id, created_at
                """,
                device_id, seq, proof_id, body.capture_id, payload, prev_hash, entry_hash,
            )
            await conn.execute(
                "UPDATE devices SET head_seq = $2, head_hash = $3, updated_at = now() WHERE device_id = $1",
                device_id, seq, entry_hash,
            )
    return {
        "proof_id": proof_id,
        "entry_id": entry["id"],
        "seq": seq,
        "prev_hash": prev_hash,
        "entry_hash": entry_hash,
        "created_at": entry["created_at"].isoformat(),
    }


# The FROM (SELECT pg_sleep(..)) row is always evaluated, even for a device
# with no entries, so SLOW_QUERY_MS slows every ledger call by the same amount
# and counts against statement_timeout like a genuinely slow query.
_LEDGER_SQL = """
SELECT id, seq, capture_id, proof_id, payload, prev_hash, entry_hash, created_at
  FROM ledger_entries
 WHERE device_id = $1
 ORDER BY seq DESC
 LIMIT $2
"""
_LEDGER_SLOW_SQL = """
SELECT e.id, e.seq, e.capture_id, e.proof_id, e.payload, e.prev_hash, e.entry_hash, e.created_at
  FROM (SELECT pg_sleep($3)) AS slow,
       LATERAL (SELECT * FROM ledger_entries
                 WHERE device_id = $1 ORDER BY seq DESC LIMIT $2) AS e
"""


@app.get("/ledger/entries")
async def ledger_entries(
    limit: int = Query(default=LEDGER_DEFAULT_LIMIT),
    device_id: str = Depends(current_device),
):
    # Clamp rather than reject: limit=1000 returns 100 entries.
    limit = max(1, min(limit, LEDGER_MAX_LIMIT))
    if SETTINGS.slow_query_ms > 0:
        rows = await pool().fetch(_LEDGER_SLOW_SQL, device_id, limit, SETTINGS.slow_query_ms / 1000.0)
    else:
        rows = await pool().fetch(_LEDGER_SQL, device_id, limit)
    entries = []
    for r in rows:
        payload = json.loads(r["payload"])
        entries.append({
            "id": r["id"],
            "seq": r["seq"],
            "capture_id": r["capture_id"],
            "proof_id": r["proof_id"],
            "proof_sha256": payload["proof_sha256"],
            "metadata": payload["metadata"],
            # hash input: entry_hash == sha256(prev_hash + payload)
            "payload": r["payload"],
            "prev_hash": r["prev_hash"],
            "entry_hash": r["entry_hash"],
            "created_at": r["created_at"].isoformat(),
        })
    return {"device_id": device_id, "limit": limit, "count": len(entries), "entries": entries}
