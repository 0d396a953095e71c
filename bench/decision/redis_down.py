"""How fast a decision fails closed when Redis is away (contract: within 100 ms).

    .venv/bin/python -m bench.decision.redis_down

Refused: nothing listens on the port. Hung: a listener that accepts and never answers, so
only the client's socket timeout (REDIS_TIMEOUT_MS, default 50) ends the wait.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import time

from service.app import create_app
from service.settings import Settings


def measure(redis_url: str, var_dir: str, n: int = 50) -> list[float]:
    app = create_app(Settings.from_env({"VAR_DIR": var_dir, "REDIS_URL": redis_url}))
    client = app.test_client()
    query = {"visitor": "reader-000001", "placement": "article-end"}
    client.get("/v1/decision", query_string=query)  # loads the experiment cache
    timings = []
    for _ in range(n):
        began = time.perf_counter()
        body = client.get("/v1/decision", query_string=query).json
        timings.append((time.perf_counter() - began) * 1000)
        assert body == {"banner": None, "reason": "unavailable"}, body
    return timings


def main() -> None:
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(1024)
    with tempfile.TemporaryDirectory() as var_dir:
        for name, url in [
            ("refused", "redis://127.0.0.1:1/0"),
            ("hung", f"redis://127.0.0.1:{hung.getsockname()[1]}/0"),
        ]:
            t = sorted(measure(url, var_dir))
            print(
                f"{name:<8} median {statistics.median(t):6.1f} ms   max {t[-1]:6.1f} ms"
                f"   (n={len(t)}, contract: 100 ms)"
            )
    hung.close()


if __name__ == "__main__":
    main()
