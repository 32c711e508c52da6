"""Ledger hash chain: the one definition of the canonical payload and hash.

entry_hash = sha256( prev_hash (64 ASCII hex chars) || payload (UTF-8) ).hexdigest()

payload is canonical JSON of
  {capture_id, device_id, metadata, proof_id, proof_sha256, seq}
with sorted keys, separators (",", ":") and ensure_ascii=False.
proof_sha256 = sha256(proof_data UTF-8).hexdigest() keeps the ledger small
while still binding the proof bytes. The exact payload text is stored and
returned by GET /ledger/entries, so a verifier hashes that text and never has
to re-serialise JSON itself (JSONB would not round-trip it byte for byte).
The first entry of a device has prev_hash = GENESIS_HASH.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Dict

GENESIS_HASH = "0" * 64


def sha256_hex(data: str) -> str:
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def canonical_payload(
    *,
    device_id: str,
    seq: int,
    proof_id: int,
    capture_id: str,
    proof_data: str,
    metadata: Dict[str, Any],
) -> str:
    return json.dumps(
        {
            "capture_id": capture_id,
            "device_id": device_id,
            "metadata": metadata,
            "proof_id": proof_id,
            "proof_sha256": sha256_hex(proof_data),
            "seq": seq,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def entry_hash(prev_hash: str, payload: str) -> str:
    return sha256_hex(prev_hash + payload)
