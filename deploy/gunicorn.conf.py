"""gunicorn settings for Small Favor, in development (`smallfavor serve`) and production.

    gunicorn -c deploy/gunicorn.conf.py 'service:create_app()'

One process per core plus one, each with 4 threads: the request path waits on Redis and SQL
sockets, so a spare process keeps both cores busy while others wait, and the 2-core figures
(docs/DESIGN.md §4) show gthread well ahead of sync workers (gevent showed long p99 tails). On
bench/decision, 3 x 4 beat 2 x 4, 2 x 8 and 4 x 8: fewer threads per process fight less over
its GIL (p99 26 ms against 45-65 ms with 8 threads).
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never take a node down; jitter spreads it.
# Rarely: each recycled worker leaves its metric files in PROMETHEUS_MULTIPROC_DIR (its
# counts must stay in the totals), so frequent recycling would pile them up.
max_requests = 1_000_000
max_requests_jitter = 100_000
accesslog = "-"
errorlog = "-"
# One JSON object a line on both logs: the logger escapes every value it puts in this template
# (a path or a header may hold quotes, backslashes, CR/LF, ESC…), and formats its own error
# lines as the app does. Put string atoms between double quotes when adding fields.
logger_class = "service.gunicorn_logging.JsonLogger"
access_log_format = (
    '{"time":"%(t)s","remote":"%(h)s","method":"%(m)s","path":"%(U)s","status":%(s)s,'
    '"bytes":"%(B)s","duration_us":%(D)s,"user_agent":"%(a)s",'
    '"request_id":"%({x-request-id}o)s"}'
)


_OWN_METRICS_DIR = []


def on_starting(server):  # type: ignore[no-untyped-def]
    """Prometheus multiprocess mode: every worker writes its samples to one directory that
    /metrics aggregates. It must be in the environment before any worker imports
    prometheus_client; an operator's PROMETHEUS_MULTIPROC_DIR (or `smallfavor serve`'s) wins.

    With no REDIS_URL (the local default), start the embedded Redis in the master so every
    worker joins the same server through the socket instead of racing to start their own."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import tempfile

        path = tempfile.mkdtemp(prefix="smallfavor-metrics-")
        _OWN_METRICS_DIR.append(path)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    # Imported here, in the master, with the directory set: child_exit runs inside the SIGCHLD
    # handler, and a first import there was re-entered when two workers exited together
    # (max_requests), which crashed the master with a circular-import error.
    import prometheus_client.multiprocess  # noqa: F401

    if os.environ.get("REDIS_URL"):
        return
    from service.settings import Settings
    from service.store.redis.embedded import embedded_socket

    settings = Settings.from_env(os.environ)
    os.environ["REDIS_URL"] = f"unix://{embedded_socket(settings.var_dir)}"


def post_fork(server, worker):  # type: ignore[no-untyped-def]
    # Forked workers inherit the master's handle on the embedded server; only the master may
    # shut it down when it exits.
    from service.store.redis.embedded import forget_inherited_servers

    forget_inherited_servers()


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    # A dead worker's gauges must stop counting; its counters and histograms stay summed.
    # (Already imported by on_starting: no import work inside a signal handler.)
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # type: ignore[no-untyped-def]
    import shutil

    for path in _OWN_METRICS_DIR:
        shutil.rmtree(path, ignore_errors=True)
