"""Settings: defaults for a laptop, strictness for production, errors that name the variable."""

from __future__ import annotations

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
    "SECRET_KEY": "k" * 40,
    "WEBHOOK_SECRET": "w" * 40,
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


@pytest.mark.parametrize("value", ["changeme", "short-secret"])
def test_production_refuses_weak_secrets(value: str) -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Settings.from_env({**PRODUCTION, "SECRET_KEY": value})


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
