"""Adapter for the local media server: nginx with the RTMP module (scripts/media_server.sh).

State comes from its `/stat` XML (a stream with a `<publishing/>` client is online), stop-push
is `/control/drop/publisher`. nginx has no forbid list: a banned or ended room's stream is
refused at `on_publish` by the gateway, because its room is closed (services/gateway/media_hooks.py).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET  # the XML comes from our own local nginx, not from users
from collections.abc import Sequence
from datetime import datetime

import aiohttp
import structlog

from shared.cloud.port import CloudPort, CloudUnavailable, StreamState
from shared.metrics import record_cloud_call
from shared.settings import CloudSettings

log = structlog.get_logger(__name__)


def online_streams_from_stat(xml: bytes, app: str) -> set[str]:
    """Names of the streams of `app` that have a publishing client, from nginx-rtmp's /stat."""
    root = ET.fromstring(xml)
    online: set[str] = set()
    for application in root.iter("application"):
        if application.findtext("name") != app:
            continue
        for stream in application.iter("stream"):
            if stream.find("publishing") is not None or any(
                client.find("publishing") is not None for client in stream.iter("client")
            ):
                online.add(stream.findtext("name") or "")
    online.discard("")
    return online


class NginxRtmpCloud(CloudPort):
    name = "nginx-rtmp"

    def __init__(self, settings: CloudSettings) -> None:
        self._base = settings.nginx_http_url.rstrip("/")
        self._app = settings.app_name
        self._timeout = aiohttp.ClientTimeout(total=settings.nginx_timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self.calls = 0

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _get(self, path: str, **params: str) -> tuple[int, bytes]:
        self.calls += 1
        started, status = time.perf_counter(), 0
        try:
            async with self._http().get(f"{self._base}{path}", params=params) as response:
                status = response.status
                return status, await response.read()
        finally:
            record_cloud_call(path, time.perf_counter() - started, ok=status == 200)

    async def stream_states(self, streams: Sequence[str]) -> dict[str, StreamState]:
        try:
            status, body = await self._get("/stat")
            if status != 200:
                raise ValueError(f"/stat answered {status}")
            online = online_streams_from_stat(body, self._app)
        except (TimeoutError, aiohttp.ClientError, ValueError, ET.ParseError) as exc:
            log.warning("nginx.stat_unknown", streams=len(streams), error=repr(exc))
            return {stream: StreamState.UNKNOWN for stream in streams}
        return {stream: StreamState.ONLINE if stream in online else StreamState.OFFLINE for stream in streams}

    async def drop(self, stream: str) -> None:
        try:
            status, _ = await self._get("/control/drop/publisher", app=self._app, name=stream)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise CloudUnavailable(f"drop of {stream} failed: {exc!r}") from exc
        if status != 200:
            raise CloudUnavailable(f"drop of {stream} answered {status}")
        log.info("nginx.dropped", stream=stream)

    async def forbid(self, stream: str, *, reason: str, resume_at: datetime) -> None:
        # Refusal of new pushes is the publish hook's job here (the room is closed); nothing to store.
        log.info("nginx.forbid", stream=stream, reason=reason, resume_at=resume_at.isoformat())

    async def resume(self, stream: str) -> None:
        log.info("nginx.resume", stream=stream)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
