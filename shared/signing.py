"""Tencent-style anti-leech URL signing (CLOUD.md §1), for push and play URLs.

txTime   = expiry as upper-case hexadecimal Unix time
txSecret = lower-case hex MD5(key + stream + txTime)
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode, urlsplit

from shared.settings import SigningSettings


def tx_time(expires_at: datetime) -> str:
    return format(int(expires_at.timestamp()), "X")


def tx_secret(key: str, stream: str, tx_time_hex: str) -> str:
    # MD5 is what the protocol specifies; it is a URL token, not a password hash.
    return hashlib.md5((key + stream + tx_time_hex).encode(), usedforsecurity=False).hexdigest()


def verify_tx_secret(key: str, stream: str, tx_time_hex: str, secret: str, *, now: datetime) -> bool:
    """True when `secret` signs `stream` until `tx_time_hex` and that time has not passed.
    Never raises: any input a client can send is answered True or False."""
    if not (tx_time_hex.isascii() and secret.isascii() and stream.isascii()) or len(tx_time_hex) > 16:
        return False
    try:
        expires = int(tx_time_hex, 16)
    except ValueError:
        return False
    if expires < now.timestamp():
        return False
    return hmac.compare_digest(tx_secret(key, stream, tx_time_hex).encode(), secret.lower().encode())


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


class UrlSigner:
    """Assembles and signs a room's push URL and its rtmp / flv / hls play URLs."""

    def __init__(self, settings: SigningSettings) -> None:
        self._s = settings

    def _query(self, key: str, stream: str, expires_at: datetime) -> str:
        t = tx_time(expires_at)
        return urlencode({"txSecret": tx_secret(key, stream, t), "txTime": t})

    def push_url(self, stream: str, *, now: datetime | None = None) -> SignedUrl:
        expires = (now or datetime.now(UTC)) + timedelta(seconds=self._s.push_url_ttl_seconds)
        query = self._query(self._s.push_key.get_secret_value(), stream, expires)
        return SignedUrl(f"rtmp://{self._s.push_domain}/{self._s.app_name}/{stream}?{query}", expires)

    def play_urls(self, stream: str, *, now: datetime | None = None) -> dict[str, str]:
        expires = (now or datetime.now(UTC)) + timedelta(seconds=self._s.play_url_ttl_seconds)
        query = self._query(self._s.play_key.get_secret_value(), stream, expires)
        app, http = self._s.app_name, self._s.play_http_base.rstrip("/")
        return {
            "rtmp": f"rtmp://{self._s.play_domain}/{app}/{stream}?{query}",
            "flv": f"{http}/{app}/{stream}.flv?{query}",
            "hls": f"{http}/{app}/{stream}.m3u8?{query}",
        }

    def replay_url(self, location: str, *, now: datetime | None = None) -> SignedUrl:
        """A replay's URL. On the local media server: `/recordings/{location}` with txSecret/txTime
        over the location (its `auth_request` checks them, services/gateway/hooks/media.py). A
        cloud VOD URL (absolute): Tencent VOD's key anti-leech (type A): `t` (hex expiry) and
        `sign` = MD5(key + the path's directory + t)."""
        expires = (now or datetime.now(UTC)) + timedelta(seconds=self._s.replay_url_ttl_seconds)
        if location.startswith(("http://", "https://")):
            t = tx_time(expires).lower()
            directory = urlsplit(location).path.rsplit("/", 1)[0] + "/"
            key = self._s.vod_key.get_secret_value()
            sign = hashlib.md5((key + directory + t).encode(), usedforsecurity=False).hexdigest()
            return SignedUrl(f"{location}?{urlencode({'t': t, 'sign': sign})}", expires)
        query = self._query(self._s.play_key.get_secret_value(), location, expires)
        return SignedUrl(f"{self._s.play_http_base.rstrip('/')}/recordings/{quote(location)}?{query}", expires)
