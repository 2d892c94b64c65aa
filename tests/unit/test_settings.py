"""Production mode refuses to start on development defaults, naming each setting to fix."""

from typing import Any

import pytest
from pydantic import ValidationError

from shared.settings import GatewaySettings, ModerationSettings, RoomsSettings, WatcherSettings

STRONG: dict[str, Any] = {
    "amqp_url": "amqp://gateway:s3cret-from-the-vault@rabbitmq:5672/",
    "mongodb_url": "mongodb://rooms:s3cret@mongo-0,mongo-1,mongo-2/?replicaSet=rs0",
    "jwt_secret": "j" * 32, "push_key": "p" * 32, "play_key": "q" * 32,
    "callback_key": "c" * 32, "media_hook_token": "h" * 32,
}


def test_development_needs_nothing() -> None:
    assert GatewaySettings().env == "development"
    assert RoomsSettings().env == "development"


def test_production_names_every_development_default() -> None:
    with pytest.raises(ValidationError) as err:
        GatewaySettings(env="production")
    message = str(err.value)
    for variable in ("ONAIR_JWT_SECRET", "ONAIR_PUSH_KEY", "ONAIR_PLAY_KEY", "ONAIR_CALLBACK_KEY",
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
    keys = {k: STRONG[k] for k in ("amqp_url", "mongodb_url", "push_key", "play_key")}
    assert ModerationSettings(env="production", **keys).cloud == "nginx-rtmp"  # no Tencent keys needed here
    with pytest.raises(ValidationError, match="ONAIR_TENCENT_SECRET_KEY"):
        WatcherSettings(env="production", cloud="tencent", **{k: keys[k] for k in ("amqp_url", "push_key",
                                                                                  "play_key")})
