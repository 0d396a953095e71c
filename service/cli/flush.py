"""`smallfavor flush`: accepted events from the Redis stream into SQL."""

from __future__ import annotations

import click

from service.cli.common import Failure, settings_from_env
from service.cli.registry import register


@register
@click.command()
@click.option("--once", is_flag=True, help="Drain the stream (dead flushers' entries too), exit.")
@click.option("--batch-size", type=click.IntRange(1, 50_000), default=2000, show_default=True)
def flush(once: bool, batch_size: int) -> None:
    """Write accepted events from the Redis stream to SQL, until SIGTERM or with --once."""
    import threading

    from service.jobs.flusher import open_flusher
    from service.log_format import configure_logging
    from service.metrics import serve_metrics
    from service.stop_signals import stop_on_signals

    settings = settings_from_env()
    configure_logging(settings.log_level)
    if not once:
        serve_metrics(settings.metrics_port)
    stop = threading.Event()  # SIGTERM/SIGINT: finish and ack the batch in hand, then exit 0
    stop_on_signals(stop)
    with open_flusher(settings, batch_size) as flusher:
        try:
            counts = flusher.run_once(stop) if once else flusher.run_forever(stop)
        except Exception as exc:  # run_once only: the failed batch stays pending in Redis
            raise Failure(
                f"flush stopped, entries stay in the stream: {type(exc).__name__}: "
                f"{exc}".splitlines()[0]
            ) from None
    click.echo(
        f"flushed {counts.entries} stream entries: {counts.inserted} events new, "
        f"{counts.duplicates} duplicates, {counts.malformed} set aside"
    )
