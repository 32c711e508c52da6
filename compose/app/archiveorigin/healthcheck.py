"""Container healthcheck: exit 0 only if GET /health answers 200.

Same check as the one-liner in compose/stack.yml, but reads APP_PORT from
the container's environment (handy for `docker exec`).
"""
import os
import sys
import urllib.request

port = os.environ.get("APP_PORT", "8000")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as resp:
        sys.exit(0 if resp.status == 200 else 1)
except Exception as exc:  # noqa: BLE001 - any failure is unhealthy
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
