"""Tencent Cloud Live API 3.0 adapter, on Tencent's official async SDK (TC3 signing, models).

Rate limits are Tencent's documented per-action limits (CLOUD.md §2) times
ONAIR_TENCENT_RATE_SHARE, enforced client-side. `RequestLimitExceeded`, internal and network
errors are retried with exponential back-off. For stream state, any failure is UNKNOWN,
never OFFLINE (Tencent's own guidance).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential
from tencentcloud.common import credential
from tencentcloud.common.common_client_async import CommonClient
from tencentcloud.common.exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.live.v20180801 import models
from tencentcloud.live.v20180801.live_client_async import LiveClient

from shared.cloud.port import CloudPort, CloudUnavailable, StreamState
from shared.metrics import record_cloud_call
from shared.settings import CloudSettings

log = structlog.get_logger(__name__)

# Calls per second, from Tencent's API documentation.
DOCUMENTED_RATE_LIMITS = {
    "DescribeLiveStreamState": 300,
    "DescribeLiveStreamOnlineList": 80,
    "DropLiveStream": 100,
    "ForbidLiveStream": 200,
    "ResumeLiveStream": 100,
    "DeleteMedia": 20,  # VOD
}
_STATE_NAMES = {"active": StreamState.ONLINE, "inactive": StreamState.OFFLINE, "forbid": StreamState.FORBIDDEN}
_MAX_REASON_BYTES = 2048


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, TencentCloudSDKException):
        code = exc.get_code() or ""
        return code == "RequestLimitExceeded" or code.startswith(("InternalError", "ServerNetworkError",
                                                                  "ClientNetworkError"))
    return False


class TencentCloud(CloudPort):
    name = "tencent"

    def __init__(self, settings: CloudSettings) -> None:
        http = HttpProfile(endpoint=settings.tencent_endpoint, reqTimeout=settings.tencent_timeout_seconds,
                           keepAlive=True)
        http.scheme = settings.tencent_scheme
        profile = ClientProfile(httpProfile=http, signMethod="TC3-HMAC-SHA256", disable_region_breaker=True)
        cred = credential.Credential(settings.tencent_secret_id, settings.tencent_secret_key.get_secret_value())
        self._client = LiveClient(cred, "", profile)
        vod_http = HttpProfile(endpoint=settings.tencent_vod_endpoint, reqTimeout=settings.tencent_timeout_seconds)
        vod_http.scheme = settings.tencent_scheme
        # Recordings live in VOD, another product: the SDK's generic client signs for it (TC3).
        self._vod = CommonClient("vod", "2018-07-17", cred, "",
                                 ClientProfile(httpProfile=vod_http, signMethod="TC3-HMAC-SHA256"))
        self._domain = settings.push_domain
        self._app = settings.app_name
        self._page_size = settings.tencent_page_size
        self._attempts = settings.tencent_retries
        self._limiters = {
            action: AsyncLimiter(max(1.0, rate * settings.tencent_rate_share), 1)
            for action, rate in DOCUMENTED_RATE_LIMITS.items()
        }
        self.calls = 0  # cloud calls made (for metrics and the watcher's per-cycle figures)

    async def _call(self, action: str, request: Any) -> Any:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_retryable), stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=0.2, max=2), reraise=True,
        ):
            with attempt:
                async with self._limiters[action]:
                    self.calls += 1
                    started, ok = time.perf_counter(), False
                    try:
                        answer = await (self._vod.call_and_deserialize(action, request) if action == "DeleteMedia"
                                        else getattr(self._client, action)(request))
                        ok = True
                        return answer
                    finally:
                        record_cloud_call(action, time.perf_counter() - started, ok=ok)
        raise AssertionError("unreachable")  # pragma: no cover

    def _stream_request(self, model: type[Any], stream: str, **extra: Any) -> Any:
        request = model()
        request.AppName, request.DomainName, request.StreamName = self._app, self._domain, stream
        for key, value in extra.items():
            setattr(request, key, value)
        return request

    async def stream_state(self, stream: str) -> StreamState:
        try:
            response = await self._call("DescribeLiveStreamState",
                                        self._stream_request(models.DescribeLiveStreamStateRequest, stream))
        except (TencentCloudSDKException, httpx.HTTPError, ValueError) as exc:
            log.warning("tencent.state_unknown", stream=stream, error=str(exc))
            return StreamState.UNKNOWN
        return _STATE_NAMES.get(str(response.StreamState), StreamState.UNKNOWN)

    async def online_streams(self) -> set[str]:
        """Every stream pushing now on our domain and app, from all pages of the online list."""
        online: set[str] = set()
        page, pages = 1, 1
        while page <= pages:
            request = models.DescribeLiveStreamOnlineListRequest()
            request.DomainName, request.AppName = self._domain, self._app
            request.PageNum, request.PageSize = page, self._page_size
            response = await self._call("DescribeLiveStreamOnlineList", request)
            if response.TotalPage is None:  # not a list answer: never read it as "all offline"
                raise ValueError("online list answer without TotalPage")
            online.update(info.StreamName for info in response.OnlineInfo or [])
            pages = int(response.TotalPage or 0)
            page += 1
        return online

    async def stream_states(self, streams: Sequence[str]) -> dict[str, StreamState]:
        if len(streams) == 1:
            return {streams[0]: await self.stream_state(streams[0])}
        if not streams:
            return {}
        try:
            online = await self.online_streams()
        except (TencentCloudSDKException, httpx.HTTPError, ValueError, TypeError) as exc:
            log.warning("tencent.online_list_unknown", streams=len(streams), error=str(exc))
            return {stream: StreamState.UNKNOWN for stream in streams}
        return {stream: StreamState.ONLINE if stream in online else StreamState.OFFLINE for stream in streams}

    async def _act(self, action: str, request: Any) -> None:
        try:
            await self._call(action, request)
        except (TencentCloudSDKException, httpx.HTTPError) as exc:
            raise CloudUnavailable(f"{action} failed: {exc}") from exc

    async def forbid(self, stream: str, *, reason: str, resume_at: datetime) -> None:
        resume = resume_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        short_reason = reason.encode()[:_MAX_REASON_BYTES].decode(errors="ignore")
        await self._act("ForbidLiveStream", self._stream_request(
            models.ForbidLiveStreamRequest, stream, ResumeTime=resume, Reason=short_reason))

    async def drop(self, stream: str) -> None:
        await self._act("DropLiveStream", self._stream_request(models.DropLiveStreamRequest, stream))

    async def resume(self, stream: str) -> None:
        await self._act("ResumeLiveStream", self._stream_request(models.ResumeLiveStreamRequest, stream))

    async def delete_recording(self, location: str, file_id: str | None) -> None:
        """VOD `DeleteMedia` of the recording's file id (a file already deleted answers
        `ResourceNotFound`, which counts as deleted)."""
        if file_id is None:
            log.warning("tencent.recording_without_file_id", location=location)
            return
        try:
            await self._act("DeleteMedia", {"FileId": file_id})
        except CloudUnavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, TencentCloudSDKException) and (cause.get_code() or "").startswith("ResourceNotFound"):
                return
            raise

    async def close(self) -> None:
        await self._client.close()
        await self._vod.close()
