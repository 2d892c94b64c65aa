"""Adapter for the local media server: nginx with the RTMP module (scripts/media_server.sh), one
process or several.

State comes from each process's `/stat` XML (a stream with a `<publishing/>` client is online),
stop-push is `/control/drop/publisher` on every process: a push lands on whichever process the
anchor's connection reached, so every call goes to all of them (`ONAIR_NGINX_HTTP_URL` lists them,
or names a headless Service whose addresses are the processes). nginx has no forbid list: a closed
room's stream is refused at `on_publish` by the gateway (services/gateway/media_hooks.py).
"""

from __future__ import annotations

import asyncio
import socket
import time
import xml.etree.ElementTree as ET  # the XML comes from our own local nginx, not from users
from collections.abc import Sequence
from datetime import datetime

import aiohttp
import structlog
from yarl import URL

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


async def expand(base: URL) -> list[URL]:
    """The processes behind one configured URL: each IPv4 address its host resolves to (a headless
    Service lists every pod), or the URL itself when it names one address."""
    host = base.host or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, base.port, family=socket.AF_INET,
                                                             type=socket.SOCK_STREAM)
    except OSError:
        return [base]  # the call itself will say what is wrong
    addresses = sorted({str(info[4][0]) for info in infos})
    return [base] if len(addresses) <= 1 else [base.with_host(address) for address in addresses]


class NginxRtmpCloud(CloudPort):
    name = "nginx-rtmp"

    def __init__(self, settings: CloudSettings) -> None:
        self._bases = [URL(url.strip().rstrip("/")) for url in settings.nginx_http_url.split(",") if url.strip()]
        self._app = settings.app_name
        self._timeout = aiohttp.ClientTimeout(total=settings.nginx_timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self.calls = 0

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def processes(self) -> list[URL]:
        """Every media-server process now (resolved on each call: pods come and go)."""
        found = await asyncio.gather(*(expand(base) for base in self._bases))
        return [url for urls in found for url in urls]

    async def _get(self, base: URL, path: str, **params: str) -> tuple[int, bytes]:
        self.calls += 1
        started, status = time.perf_counter(), 0
        try:
            async with self._http().get(str(base) + path, params=params) as response:
                status = response.status
                return status, await response.read()
        finally:
            record_cloud_call(path, time.perf_counter() - started, ok=status == 200)

    async def _online(self, base: URL) -> set[str] | None:
        """The streams published on one process, or None when it could not say."""
        try:
            status, body = await self._get(base, "/stat")
            if status != 200:
                raise ValueError(f"/stat answered {status}")
            return online_streams_from_stat(body, self._app)
        except (TimeoutError, aiohttp.ClientError, ValueError, ET.ParseError) as exc:
            log.warning("nginx.stat_unknown", process=str(base), error=repr(exc))
            return None

    async def stream_states(self, streams: Sequence[str]) -> dict[str, StreamState]:
        """Online where any process publishes it; offline only when every process answered."""
        answers = await asyncio.gather(*(self._online(base) for base in await self.processes()))
        online = set().union(*(answer for answer in answers if answer is not None))
        absent = StreamState.UNKNOWN if None in answers else StreamState.OFFLINE
        return {stream: StreamState.ONLINE if stream in online else absent for stream in streams}

    async def _drop_on(self, base: URL, stream: str) -> int:
        try:
            status, body = await self._get(base, "/control/drop/publisher", app=self._app, name=stream)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise CloudUnavailable(f"drop of {stream} on {base} failed: {exc!r}") from exc
        if status != 200:
            raise CloudUnavailable(f"drop of {stream} on {base} answered {status}")
        text = body.decode(errors="replace").strip()
        return int(text) if text.isdigit() else 0

    async def drop(self, stream: str) -> None:
        """Drop the stream's publisher on every process. A drop that removed nobody is a success
        only when no process publishes the stream (the push had ended); else it is a failure."""
        processes = await self.processes()
        dropped = sum(await asyncio.gather(*(self._drop_on(base, stream) for base in processes)))
        if dropped == 0 and (await self.stream_states([stream]))[stream] is not StreamState.OFFLINE:
            raise CloudUnavailable(f"drop of {stream} removed no publisher, yet it is not offline everywhere")
        log.info("nginx.dropped", stream=stream, publishers=dropped, processes=len(processes))

    async def delete_recording(self, location: str, file_id: str | None) -> None:
        """`DELETE /internal/recordings/{location}` (nginx's WebDAV DELETE, on the media servers' internal
        port). The recordings volume is shared by every process (docs/architecture.md, "Replays"),
        so one answer is enough; each is asked until one deletes it or all say it is gone."""
        if ".." in location.split("/") or location.startswith("/"):
            raise ValueError(f"not a recording path: {location!r}")
        statuses = []
        for base in await self.processes():
            self.calls += 1
            try:
                async with self._http().delete(f"{base}/internal/recordings/{location}") as response:
                    statuses.append(response.status)
            except (TimeoutError, aiohttp.ClientError) as exc:
                log.warning("nginx.delete_unanswered", process=str(base), error=repr(exc))
                continue
            if response.status in (200, 204):
                return
        if not statuses or any(status != 404 for status in statuses):
            raise CloudUnavailable(f"delete of {location} answered {statuses or 'nothing'}")

    async def forbid(self, stream: str, *, reason: str, resume_at: datetime) -> None:
        # Refusal of new pushes is the publish hook's job here (the room is closed); nothing to store.
        log.info("nginx.forbid", stream=stream, reason=reason, resume_at=resume_at.isoformat())

    async def resume(self, stream: str) -> None:
        log.info("nginx.resume", stream=stream)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
