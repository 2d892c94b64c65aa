"""Production mode refuses to start on development defaults, naming each setting to fix."""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared.settings import GatewaySettings, ModerationSettings, RoomsSettings, WatcherSettings

STRONG: dict[str, Any] = {
    "amqp_url": "amqp://gateway:s3cret-from-the-vault@rabbitmq:5672/",
    "mongodb_url": "mongodb://rooms:s3cret@mongo-0,mongo-1,mongo-2/?replicaSet=rs0",
    "jwt_secret": "j" * 32, "push_key": "p" * 32, "play_key": "q" * 32, "vod_key": "v" * 32,
    "callback_key": "c" * 32, "media_hook_token": "h" * 32,
    "jwt_issuer": "https://id.example.com/", "jwt_audience": "onair-api",
}


def test_development_needs_nothing() -> None:
    assert GatewaySettings().env == "development"
    assert RoomsSettings().env == "development"


def test_production_names_every_development_default() -> None:
    with pytest.raises(ValidationError) as err:
        GatewaySettings(env="production")
    message = str(err.value)
    for variable in ("ONAIR_JWT_SECRET", "ONAIR_PUSH_KEY", "ONAIR_PLAY_KEY", "ONAIR_VOD_KEY", "ONAIR_CALLBACK_KEY",
                     "ONAIR_MEDIA_HOOK_TOKEN", "ONAIR_AMQP_URL"):
        assert variable in message, variable
    with pytest.raises(ValidationError, match="ONAIR_MONGODB_URL is the development default"):
        RoomsSettings(env="production", amqp_url=STRONG["amqp_url"])


def test_production_refuses_short_secrets_shared_keys_and_the_guest_account() -> None:
    with pytest.raises(ValidationError, match="ONAIR_JWT_SECRET is shorter than 32 bytes"):
        GatewaySettings(env="production", **{**STRONG, "jwt_secret": "short"})
    with pytest.raises(ValidationError, match="ONAIR_PUSH_KEY and ONAIR_PLAY_KEY are the same"):
        GatewaySettings(env="production", **{**STRONG, "play_key": STRONG["push_key"]})
    with pytest.raises(ValidationError, match="guest account"):
        GatewaySettings(env="production", **{**STRONG, "amqp_url": "amqp://guest:guest@rabbitmq:5672/"})


def test_production_with_real_settings_starts() -> None:
    assert GatewaySettings(env="production", **STRONG).env == "production"
    keys = {k: STRONG[k] for k in ("amqp_url", "mongodb_url")}  # no URL-signing keys: they never sign
    assert ModerationSettings(env="production", **keys).cloud == "nginx-rtmp"  # no Tencent keys needed here
    with pytest.raises(ValidationError, match="ONAIR_TENCENT_SECRET_KEY"):
        WatcherSettings(env="production", cloud="tencent", amqp_url=keys["amqp_url"])


def test_production_requires_issuer_and_audience() -> None:
    with pytest.raises(ValidationError, match="ONAIR_JWT_ISSUER is required"):
        GatewaySettings(env="production", **{**STRONG, "jwt_issuer": None})
    with pytest.raises(ValidationError, match="ONAIR_JWT_AUDIENCE is required"):
        GatewaySettings(env="production", **{**STRONG, "jwt_audience": None})


# A secret-looking name, then a literal of 16 or more characters: quoted (Python, YAML), or a shell
# fallback `${ONAIR_..._SECRET:-value}`.
_VALUE = r"([A-Za-z0-9_+/=][A-Za-z0-9_+/=.-]{15,})"
_ASSIGNED = re.compile(rf"""(?:secret|key|token)\w*["']?\s*[:=]\s*(?:"{_VALUE}"|'{_VALUE}'|\$\{{\w+:-{_VALUE}\}})""",
                       re.IGNORECASE)


def secrets_in_repository() -> set[str]:
    root = Path(__file__).resolve().parents[2]
    files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    found = set()
    for name in files:
        if name.endswith((".py", ".yaml", ".yml", ".sh", ".md", ".template", "Makefile", ".toml")):
            for groups in _ASSIGNED.findall((root / name).read_text(errors="replace")):
                found |= {value for value in groups if value}
    return found


def test_every_secret_written_in_the_repository_is_refused_in_production() -> None:
    """Anyone who read the repository can mint tokens with its secrets: production refuses them
    all, the development defaults and every other one the repository holds."""
    found = secrets_in_repository()
    assert "change-me-to-a-long-random-secret-please" in found  # the scan sees compose's fallback
    for secret in found:
        with pytest.raises(ValidationError, match="ONAIR_JWT_SECRET is"):
            GatewaySettings(env="production", **{**STRONG, "jwt_secret": secret})
