"""Settings: defaults for a laptop, strictness for production, errors that name the variable."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from service.settings import Settings, SettingsError


def test_local_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAR_DIR": str(tmp_path)})
    assert settings.mode == "development"
    assert settings.database_url == f"sqlite:///{tmp_path / 'smallfavor.db'}"
    assert settings.redis_url is None
    assert settings.geo_header == "CF-IPCountry"
    assert settings.allowed_origins == ("*",)
    assert len(settings.secret_key) >= 32


def test_local_secrets_are_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings.from_env({"VAR_DIR": str(tmp_path)})
    second = Settings.from_env({"VAR_DIR": str(tmp_path)})
    assert first.secret_key == second.secret_key
    assert first.webhook_secret == second.webhook_secret
    assert first.secret_key != first.webhook_secret
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_postgres_urls_get_the_psycopg_driver(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"VAR_DIR": str(tmp_path), "DATABASE_URL": "postgresql://u@db:5432/smallfavor"}
    )
    assert settings.database_url == "postgresql+psycopg://u@db:5432/smallfavor"


PRODUCTION = {
    "SMALLFAVOR_ENV": "production",
    "DATABASE_URL": "postgresql://u@db/sf",
    "REDIS_URL": "redis://cache:6379/0",
    # Random, as an operator's would be: production refuses structured or published ones.
    "SECRET_KEY": secrets.token_urlsafe(48),
    "WEBHOOK_SECRET": secrets.token_urlsafe(48),
}


def test_production_with_everything_set(tmp_path: Path) -> None:
    settings = Settings.from_env({**PRODUCTION, "VAR_DIR": str(tmp_path)})
    assert settings.is_production
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "WEBHOOK_SECRET"])
def test_production_refuses_missing_values(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(env)


WEAK_SECRETS = {
    "default": "changeme",
    "short": "short-secret",
    "short random": secrets.token_urlsafe(23),
    "repeated character": "a" * 40,
    "another repeated character": "Z" * 64,
    "repeated word": "password" * 5,
    "repeated words with numbers": "Password1Password2Password3Password4",
    "repeated unit": "abc" * 15,
    "sequence": "0123456789" * 4,
    "alphabet": "abcdefghijklmnopqrstuvwxyz0123456789",
    "keyboard walk": "qwertyuiopasdfghjklzxcvbnm1234567890",
    "interleaved sequences": "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7",
    "words and a run": "my-production-secret-" + "x" * 20,
    "this suite's own fixture value": "test-secret-key-" + "x" * 32,
    "the manifest tests' value": "Zk3q9-fake-secret-for-manifest-tests-0123456789",
    "Flask's documented example": (
        "192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf"
    ),
}


@pytest.mark.parametrize("name", ["SECRET_KEY", "WEBHOOK_SECRET"])
@pytest.mark.parametrize("kind", sorted(WEAK_SECRETS))
def test_production_refuses_weak_secrets(name: str, kind: str) -> None:
    value = WEAK_SECRETS[kind]
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**PRODUCTION, name: value})
    message = str(refused.value)
    assert message.startswith(f"{name} ")
    assert "secrets.token_urlsafe(48)" in message  # how to make a good one
    assert value not in message  # never the secret itself: this message is logged


def test_weak_secrets_are_fine_locally(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAR_DIR": str(tmp_path), "SECRET_KEY": "a" * 40})
    assert settings.secret_key == "a" * 40


@pytest.mark.parametrize("nbytes", [32, 48, 64])
def test_production_takes_random_secrets(tmp_path: Path, nbytes: int) -> None:
    for _ in range(20):
        key, hook = secrets.token_urlsafe(nbytes), secrets.token_hex(nbytes)
        settings = Settings.from_env(
            {**PRODUCTION, "VAR_DIR": str(tmp_path), "SECRET_KEY": key, "WEBHOOK_SECRET": hook}
        )
        assert (settings.secret_key, settings.webhook_secret) == (key, hook)


def test_the_local_generators_output_would_pass_production(tmp_path: Path) -> None:
    local = Settings.from_env({"VAR_DIR": str(tmp_path)})
    Settings.from_env(
        {**PRODUCTION, "SECRET_KEY": local.secret_key, "WEBHOOK_SECRET": local.webhook_secret}
    )


SHARED = secrets.token_urlsafe(48)


@pytest.mark.parametrize(
    "overrides,names",
    [
        ({"SECRET_KEY": SHARED, "WEBHOOK_SECRET": SHARED}, "SECRET_KEY and WEBHOOK_SECRET"),
        (
            {"SECRET_KEY": SHARED, "WEBHOOK_SECRET": SHARED + "-webhook"},
            "SECRET_KEY and WEBHOOK_SECRET",
        ),
        (
            {"SECRET_KEY": "k" + SHARED + "k", "WEBHOOK_SECRET": SHARED},
            "SECRET_KEY and WEBHOOK_SECRET",
        ),
        ({"SECRET_KEY": SHARED, "SMTP_PASSWORD": SHARED}, "SMTP_PASSWORD and SECRET_KEY"),
        ({"WEBHOOK_SECRET": SHARED, "SMTP_PASSWORD": SHARED}, "SMTP_PASSWORD and WEBHOOK_SECRET"),
        (
            {"WEBHOOK_SECRET": SHARED, "SMTP_PASSWORD": SHARED[:20]},
            "SMTP_PASSWORD and WEBHOOK_SECRET",
        ),
        (
            {"SECRET_KEY": SHARED, "ALERT_WEBHOOK_SECRET": SHARED},
            "ALERT_WEBHOOK_SECRET and SECRET_KEY",
        ),
        (
            {"WEBHOOK_SECRET": SHARED, "ALERT_WEBHOOK_SECRET": SHARED + "-alerts"},
            "ALERT_WEBHOOK_SECRET and WEBHOOK_SECRET",
        ),
    ],
)
def test_production_refuses_one_secret_for_two_purposes(
    overrides: dict[str, str], names: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**PRODUCTION, **overrides})
    message = str(refused.value)
    assert message.startswith(f"{names} must be different secrets")
    assert SHARED[:20] not in message


def test_a_short_smtp_password_may_occur_inside_a_secret_by_chance() -> None:
    key = PRODUCTION["SECRET_KEY"]
    settings = Settings.from_env({**PRODUCTION, "SMTP_PASSWORD": key[3:9]})
    assert settings.smtp_password == key[3:9]


@pytest.mark.parametrize(
    "name,value",
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("DATABASE_URL", "mysql://x/y"),
        ("REDIS_URL", "http://cache"),
        ("ALLOWED_ORIGINS", "example.org"),
        ("SMALLFAVOR_ENV", "staging"),
        ("LOG_LEVEL", "LOUD"),
        ("REDIS_TIMEOUT_MS", "0"),
        ("GEO_HEADER", "bad header"),
    ],
)
def test_bad_values_name_their_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"VAR_DIR": str(tmp_path), name: value})


def test_origins_are_a_list(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"VAR_DIR": str(tmp_path), "ALLOWED_ORIGINS": "https://news.example, https://b.example/"}
    )
    assert settings.allowed_origins == ("https://news.example", "https://b.example")


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAR_DIR": str(tmp_path)})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_redis_timeout_fails_fast_in_production_and_waits_locally(tmp_path: Path) -> None:
    # Production answers "unavailable" within 50 ms when Redis is away; a laptop's embedded
    # Redis under `make run` and a browser sometimes needs longer, and dropped banners there.
    production = Settings.from_env({**PRODUCTION, "VAR_DIR": str(tmp_path)})
    local = Settings.from_env({"VAR_DIR": str(tmp_path)})
    assert production.redis_timeout_ms == 50
    assert local.mode == "development" and local.redis_timeout_ms == 500
    explicit = Settings.from_env({"VAR_DIR": str(tmp_path), "REDIS_TIMEOUT_MS": "50"})
    assert explicit.redis_timeout_ms == 50


def test_the_alert_webhook_secret_is_optional_but_strong_in_production(tmp_path: Path) -> None:
    production = {**PRODUCTION, "VAR_DIR": str(tmp_path)}
    assert Settings.from_env(production).alert_webhook_secret == ""  # alert webhooks off
    with pytest.raises(SettingsError, match="ALERT_WEBHOOK_SECRET is shorter than 32"):
        Settings.from_env({**production, "ALERT_WEBHOOK_SECRET": "hunter2"})
    strong = secrets.token_urlsafe(48)
    settings = Settings.from_env({**production, "ALERT_WEBHOOK_SECRET": strong})
    assert settings.alert_webhook_secret == strong
    assert strong not in repr(settings)
