"""Typed settings read once from ONAIR_* environment variables.

Defaults make `make run` work on a fresh machine; production overrides them.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_BYTES = 32

# Secrets written in this repository besides the settings' own defaults (compose's fallbacks, test
# fixtures, Tencent's documented examples): anyone who read it knows them, so production refuses
# them. tests/unit/test_settings.py scans the repository and fails on a secret missing here.
PUBLISHED_SECRETS = frozenset({
    "change-me-to-a-long-random-secret-please",  # deploy/compose.yaml
    "onair-dev-media-hook-token",
    "integration-tests-jwt-secret-0123456789abcdef",  # tests/fixtures.py
    "e2e-media-hook-token",
    "unit-test-secret-0123456789abcdef0123",  # tests/unit/test_auth.py
    "another-secret-0123456789abcdef01",
    "not-the-play-key",  # tests/e2e
    "e12c46f2612d5106e2034781ab261ca3",  # CLOUD.md: Tencent's signing example
    "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
})


class CommonSettings(BaseSettings):
    """What every service needs: where the broker is, how to log, which namespace to use."""

    model_config = SettingsConfigDict(env_prefix="ONAIR_", extra="ignore")

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Prefix for exchanges and queues, so several stacks (or test runs) can share one broker.
    bus_namespace: str = "onair"
    log_format: str = Field("console", pattern="^(console|json)$")
    log_level: str = "INFO"
    # Deliveries after which a message that keeps failing is dead-lettered, not retried.
    delivery_limit: int = Field(5, ge=1)
    prefetch: int = Field(200, ge=1)
    # `production` (the container image sets it) refuses to start on development defaults.
    env: str = Field("development", pattern="^(development|production)$")
    # The ops port: /metrics, /healthz, /readyz (shared/ops.py). Each service has its own
    # default so that `make run` runs them side by side; 0 picks a free port.
    ops_host: str = "0.0.0.0"
    ops_port: int = Field(9100, ge=0, le=65535)

    @model_validator(mode="after")
    def _production_ready(self) -> Self:
        if self.env == "production" and (problems := production_problems(self)):
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self


def production_problems(settings: BaseSettings) -> list[str]:
    """What keeps these settings from production: development defaults, short secrets, one key
    for two jobs. Each problem names its environment variable."""
    problems = []
    fields = type(settings).model_fields
    for name, field in fields.items():
        value, variable = getattr(settings, name), f"ONAIR_{name.upper()}"
        if isinstance(value, SecretStr):
            if name.startswith("tencent_") and getattr(settings, "cloud", None) != "tencent":
                continue  # only needed with the Tencent adapter
            secret = value.get_secret_value()
            if isinstance(field.default, SecretStr) and secret == field.default.get_secret_value():
                problems.append(f"{variable} is the development default")
            elif secret in PUBLISHED_SECRETS:
                problems.append(f"{variable} is written in Onair's repository (public)")
            elif len(secret.encode()) < MIN_SECRET_BYTES:
                problems.append(f"{variable} is shorter than {MIN_SECRET_BYTES} bytes")
        elif name in ("amqp_url", "mongodb_url") and value == field.default:
            problems.append(f"{variable} is the development default")
    if hasattr(settings, "jwt_secret"):
        problems += [f"ONAIR_JWT_{claim.upper()} is required (the identity provider's {what})"
                     for claim, what in (("issuer", "issuer"), ("audience", "audience for this API"))
                     if not getattr(settings, f"jwt_{claim}")]
    if "guest:guest@" in str(getattr(settings, "amqp_url", "")):
        problems.append("ONAIR_AMQP_URL uses RabbitMQ's guest account")
    keys = [getattr(settings, k, None) for k in ("push_key", "play_key")]
    if None not in keys and keys[0].get_secret_value() == keys[1].get_secret_value():  # type: ignore[union-attr]
        problems.append("ONAIR_PUSH_KEY and ONAIR_PLAY_KEY are the same (a push URL would sign plays)")
    return problems


class StoreSettings(CommonSettings):
    mongodb_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_db: str = "onair"


class StreamSettings(BaseSettings):
    """Where streams are pushed, as the cloud names them (no secret: services that call the cloud
    need these, not the signing keys)."""

    model_config = SettingsConfigDict(env_prefix="ONAIR_", extra="ignore")

    push_domain: str = "127.0.0.1:1935"
    app_name: str = "live"
    push_url_ttl_seconds: int = Field(24 * 3600, ge=60)


class SigningSettings(StreamSettings):
    """Tencent-style anti-leech signing of push and play URLs (CLOUD.md §1): the gateway's keys."""

    play_domain: str = "127.0.0.1:1935"
    # HTTP(S) host for flv and hls play URLs; defaults to the play domain.
    play_http_base: str = "http://127.0.0.1:8080"
    push_key: SecretStr = SecretStr("onair-dev-push-key")
    play_key: SecretStr = SecretStr("onair-dev-play-key")
    play_url_ttl_seconds: int = Field(4 * 3600, ge=60)
    # Replay URLs: long enough to watch one, short enough that a hidden or deleted replay's old
    # links stop soon after.
    replay_url_ttl_seconds: int = Field(2 * 3600, ge=60)
    vod_key: SecretStr = SecretStr("onair-dev-vod-key")  # Tencent VOD key anti-leech (replays in VOD)


class GatewaySettings(CommonSettings, SigningSettings):
    # The room categories, comma-separated: a room may name one on create; lists filter by them.
    categories: str = Field("chat,music,games,outdoors,talent,sports,food,education",
                            pattern=r"^[a-z0-9_-]{1,32}(,[a-z0-9_-]{1,32})*$")
    follow_sets_max: int = Field(100_000, ge=1)  # viewers' follow sets cached per gateway
    # The console's player (hls.js, `npm ci --prefix web`); empty: this checkout's web/node_modules.
    console_player: str = ""
    gateway_host: str = "0.0.0.0"
    gateway_port: int = 8000
    # The media server's publish and play hooks are served on this port only, never on the public
    # one (the Ingress routes the public one); 0 serves them on the public port (tests).
    hooks_port: int = Field(8010, ge=0, le=65535)
    # viewers_now: each gateway reports its live-update streams this often (a gateway silent for
    # three periods is dropped); SSE heartbeats this often detect a dead connection.
    presence_period_seconds: float = Field(2.0, gt=0, le=30)
    sse_heartbeat_seconds: float = Field(5.0, gt=0, le=60)
    jwt_secret: SecretStr = SecretStr("onair-development-jwt-secret-change-me-in-prod")

    @property
    def category_names(self) -> tuple[str, ...]:
        return tuple(self.categories.split(","))
    # Checked when set: the identity provider's issuer, and this API as the audience.
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_seconds: float = Field(30.0, ge=0, le=300)
    # A token may live at most this long: one whose `exp` lies further ahead is refused (a token
    # that never expires is a key for good).
    jwt_max_lifetime_seconds: float = Field(24 * 3600, gt=0)
    request_timeout_seconds: float = Field(5.0, gt=0)
    # Shared secret in the local media server's on_publish hook URL (scripts/media_server.sh).
    media_hook_token: SecretStr = SecretStr("onair-dev-media-hook-token")
    # Tencent callback key: callbacks carry sign = md5(callback_key + t).
    callback_key: SecretStr = SecretStr("onair-dev-callback-key")
    max_body_bytes: int = Field(16 * 1024, ge=1024)
    # Likes and views are published in batches collected over this many milliseconds.
    counter_window_ms: float = Field(5.0, ge=0)
    live_updates_per_second: float = Field(4.0, gt=0, le=50)
    # Per-user limits (token buckets per gateway process): requests a second, and the burst allowed.
    # Sized so a person tapping never meets them; see services/gateway/limits.py.
    limit_create_per_second: float = Field(0.1, gt=0)
    limit_create_burst: float = Field(5, ge=1)
    limit_like_per_second: float = Field(10, gt=0)
    limit_like_burst: float = Field(30, ge=1)
    limit_view_per_second: float = Field(2, gt=0)
    limit_view_burst: float = Field(20, ge=1)
    limit_stream_per_second: float = Field(1, gt=0)
    limit_stream_burst: float = Field(10, ge=1)
    # Activate and close (a bus round trip and a store write each).
    limit_write_per_second: float = Field(1, gt=0)
    limit_write_burst: float = Field(10, ge=1)
    # Reads the directory cannot answer (a room that is not live: a round trip to rooms).
    limit_lookup_per_second: float = Field(5, gt=0)
    limit_lookup_burst: float = Field(20, ge=1)
    # Moderators' routes (bans, cases, unbans).
    limit_moderate_per_second: float = Field(5, gt=0)
    limit_moderate_burst: float = Field(30, ge=1)
    # `replicas`: each gateway takes its share of every user's budget (the budget over the gateways
    # alive, from presence): right when the load balancer spreads a user's requests over them.
    # `none`: each gateway applies the whole budget: right when the balancer pins a user to one.
    limit_split: str = Field("replicas", pattern="^(replicas|none)$")
    live_streams_per_user: int = Field(10, ge=1)
    live_streams_max: int = Field(20_000, ge=1, description="Live-update streams one gateway process holds")
    # The room directory is re-read from rooms after each broker reconnect, and this often besides
    # (a missed event is wrong for at most this long).
    directory_resync_seconds: float = Field(300.0, gt=0)
    directory_page_size: int = Field(5000, ge=1, le=5000)


class RoomsSettings(StoreSettings):
    ops_port: int = Field(9101, ge=0, le=65535)
    # Messages the command and counter queues hold at most: past it the broker refuses publishes
    # and the gateway answers 503, instead of a backlog growing until the broker's memory alarm.
    queue_max_length: int = Field(100_000, ge=1)
    # Unactive rooms older than this are closed with reason `expired` (never went live).
    unactive_ttl_seconds: int = Field(600, ge=10)
    outbox_sweep_seconds: float = Field(10.0, gt=0)
    max_following: int = Field(5000, ge=1)  # anchors one user may follow
    # Replays (recordings of each push) are kept this long, then deleted from storage too.
    replay_retention_days: float = Field(30, gt=0)
    # Each room's live thumbnail, a frame refreshed in place: the local media server writes
    # /thumbnails/{stream}.jpg; on Tencent, the screenshot template's overwrite-mode path.
    thumbnail_url_template: str = Field("http://127.0.0.1:8080/thumbnails/{stream_id}.jpg",
                                        pattern=r"^https?://.*\{stream_id\}")


class CloudSettings(StreamSettings):
    """Which cloud adapter runs (ONAIR_CLOUD), and what each needs (no URL-signing keys: the
    watcher and moderation never sign, so they are not given the keys)."""

    cloud: str = Field("nginx-rtmp", pattern="^(nginx-rtmp|tencent)$")
    # Tencent Cloud Live API 3.0
    tencent_secret_id: str = ""
    tencent_secret_key: SecretStr = SecretStr("")
    tencent_endpoint: str = "live.tencentcloudapi.com"
    tencent_vod_endpoint: str = "vod.tencentcloudapi.com"  # recordings (replays) are VOD files
    tencent_scheme: str = Field("https", pattern="^https?$")
    tencent_timeout_seconds: float = Field(5.0, gt=0)
    # Share of Tencent's documented per-action rate limits this deployment may use.
    tencent_rate_share: float = Field(0.8, gt=0, le=1)
    tencent_page_size: int = Field(3000, ge=10, le=300_000)
    tencent_retries: int = Field(3, ge=1)
    # Local media server (nginx + RTMP module): its HTTP side serves /stat, /control and HLS. Several
    # processes: a comma-separated list, and a host name with several addresses (a headless
    # Service) stands for each of them.
    nginx_http_url: str = "http://127.0.0.1:8080"
    nginx_timeout_seconds: float = Field(5.0, gt=0)


class WatcherSettings(CommonSettings, CloudSettings):
    ops_port: int = Field(9102, ge=0, le=65535)
    watch_interval: float = Field(10.0, gt=0, description="Seconds between stream-state polls")
    watch_strikes: int = Field(3, ge=1, description="Consecutive offline polls that close a room")
    watch_resync_seconds: float = Field(60.0, gt=0, description="How often the active-room set is re-read")
    request_timeout_seconds: float = Field(10.0, gt=0)


class ModerationSettings(StoreSettings, CloudSettings):
    ops_port: int = Field(9103, ge=0, le=65535)
    # A ban keeps being retried (with back-off up to 30 s) for this many deliveries, then is
    # dead-lettered: about two and a half minutes of cloud outage at the default.
    moderation_delivery_limit: int = Field(10, ge=1)
    request_timeout_seconds: float = Field(10.0, gt=0)
    # Content detection: a score at or over this bans automatically (as does suggestion Block).
    detection_ban_score: float = Field(90.0, ge=0, le=100)
    detection_ban_hours: int = Field(24, ge=1, le=2160)
    # Automatic bans a minute at most (the rest open cases): bounds what a leaked callback can do.
    detection_auto_bans_per_minute: int = Field(5, ge=0)
