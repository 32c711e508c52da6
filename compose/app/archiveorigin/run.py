"""Entry point: `python3 run.py` from this directory (the image's ENTRYPOINT).

Reads the environment once (settings.py) and starts uvicorn with a single
worker and no access log: per-request access logging costs a large share of
CPU under load and would distort what loadscope measures.
"""
import os
import sys

# Make `import main` work whatever the current directory is.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import uvicorn  # noqa: E402

from settings import SETTINGS  # noqa: E402

if __name__ == "__main__":
    uvicorn.run(
        "main:app",
        host=SETTINGS.app_host,
        port=SETTINGS.app_port,
        workers=1,
        access_log=False,
        # uvloop/httptools when installed (the images install them), else
        # asyncio/h11: same behaviour, only slower.
        loop="auto",
        http="auto",
        lifespan="on",
        server_header=False,
        log_level="info",
    )
