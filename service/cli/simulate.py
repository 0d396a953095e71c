"""`smallfavor simulate`: the command; the simulation itself is service/jobs/simulate/.

Defaults make a fresh `make run` install work with no flags beyond the usage line: the base
URL is PUBLIC_URL, the webhook secret and the events rate limit come from the same settings
the service reads (./var for a local install), and the admin token `seed-demo` keeps in
var/demo_admin_token is used when neither --token nor SMALLFAVOR_TOKEN is given.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import click

from service.cli.common import Failure
from service.cli.registry import register
from service.settings import Settings, SettingsError

# The service answers 429 past its limit; pacing at 90 % of it leaves room for a person
# clicking around the demo from the same address meanwhile.
_RATE_HEADROOM = 0.9


@register
@click.command()
@click.option("--experiment", "key", required=True, help="Key of a running experiment.")
@click.option("--visitors", type=click.IntRange(1, 1_000_000), required=True)
@click.option(
    "--rates",
    required=True,
    help="Donation rate per variant among visitors shown it: control=0.020,b=0.026",
)
@click.option(
    "--amounts",
    default=None,
    help="Donation per variant, in the banner's currency: control=5,b=10 "
    "(default: a mix of each banner's own amounts).",
)
@click.option("--base-url", default=None, help="The service; default PUBLIC_URL.")
@click.option(
    "--token",
    envvar="SMALLFAVOR_TOKEN",
    default=None,
    help="Admin API token, viewer or up (env SMALLFAVOR_TOKEN); default: the demo token "
    "in VAR_DIR/demo_admin_token.",
)
@click.option("--webhook-secret", default=None, help="Default: WEBHOOK_SECRET's value.")
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Replay a run; default random. Ids come from the experiment, seed, --rates and "
    "--amounts: the same ones again are the same readers, counted once; another experiment "
    "or other rates or amounts are new readers.",
)
@click.option("--concurrency", type=click.IntRange(1, 32), default=8, show_default=True)
@click.option(
    "--flush",
    "flush_after",
    is_flag=True,
    help="Then drain the event stream into SQL here (`flush --once`), for a local service.",
)
def simulate(
    key: str,
    visitors: int,
    rates: str,
    amounts: str | None,
    base_url: str | None,
    token: str | None,
    webhook_secret: str | None,
    seed: int | None,
    concurrency: int,
    flush_after: bool,
) -> None:
    """Simulate readers of a running experiment through the service's real HTTP API:
    decisions, events and signed donations, at the given donation rate per variant."""
    from service.jobs.simulate.http_client import HttpClient, SimulationError, Unreachable
    from service.jobs.simulate.preflight import check_webhook_secret, fetch_experiment
    from service.jobs.simulate.runner import RunConfig, run
    from service.jobs.simulate.spec import SpecError, check_against, parse_amounts, parse_rates
    from service.jobs.simulate.summary import summary_lines

    try:
        parsed_rates, parsed_amounts = parse_rates(rates), parse_amounts(amounts)
        settings = Settings.from_env(os.environ)
    except (SpecError, SettingsError) as exc:
        raise Failure(str(exc)) from None
    base = (base_url or settings.public_url).rstrip("/")
    token = token or _demo_token(settings.var_dir)
    if not token:
        raise Failure(
            "no admin API token: pass --token or set SMALLFAVOR_TOKEN "
            f"(`make run` keeps one in {settings.var_dir / 'demo_admin_token'})"
        )
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    secret = webhook_secret or settings.webhook_secret
    try:
        client = HttpClient(base)
        try:
            info = fetch_experiment(client, key, token)
            check_against(info, parsed_rates, parsed_amounts)
            check_webhook_secret(client, secret)
        finally:
            client.close()
        config = RunConfig(
            base_url=base,
            visitors=visitors,
            rates=parsed_rates,
            amounts=parsed_amounts,
            seed=seed,
            webhook_secret=secret,
            geo_header=settings.geo_header,
            concurrency=concurrency,
            events_per_minute=_budget(settings.rate_limit_per_minute),
            decisions_per_minute=_budget(settings.decision_rate_limit_per_minute),
        )
        result = run(config, info)
    except (SpecError, SimulationError, Unreachable) as exc:
        raise Failure(str(exc)) from None
    for line in summary_lines(
        result.tally,
        info,
        base_url=base,
        seed=seed,
        elapsed=result.elapsed,
        held_back=result.held_back,
    ):
        click.echo(line)
    if flush_after:
        _flush(settings)
    else:
        click.echo(
            "Reports read SQL: the flusher (`smallfavor flush`, started by `make run`) moves "
            "these there within seconds, or run `smallfavor flush --once`."
        )
    click.echo(f"Report: {base}/v1/admin/experiments/{key}/report")
    if not sum(result.tally.shown.values()):
        raise Failure(f"no visitor was shown a banner of {key!r}; see the reasons above")


def _demo_token(var_dir: Path) -> str | None:
    path = var_dir / "demo_admin_token"
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _budget(limit: int) -> int:
    return max(1, int(limit * _RATE_HEADROOM)) if limit > 0 else 0


def _flush(settings: Settings) -> None:
    from service.jobs.flusher import open_flusher

    try:
        with open_flusher(settings, 2000) as flusher:
            counts = flusher.run_once()
    except Exception as exc:  # the entries stay in the stream for the flusher
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise Failure(f"events sent, but flushing them failed: {reason}") from None
    click.echo(
        f"flushed {counts.entries} stream entries into SQL: {counts.inserted} events new, "
        f"{counts.duplicates} duplicates"
    )
