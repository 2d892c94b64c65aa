"""A local stand-in for Tencent Cloud Live API 3.0 that checks what the real one checks.

It verifies the TC3-HMAC-SHA256 signature of every request (the verifier is tested against
Tencent's official vector), the version and the required parameters, keeps stream state, and
answers in Tencent's documented response and error shapes. Faults can be injected.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

_AUTH = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)/tc3_request, "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_signature(*, secret_key: str, service: str, host: str, content_type: str, body: bytes,
                  timestamp: int, method: str = "POST", query: str = "") -> str:
    """TC3-HMAC-SHA256 as documented (CLOUD.md §2), signed headers content-type;host."""
    canonical = "\n".join([
        method, "/", query, f"content-type:{content_type}\nhost:{host}\n", "content-type;host",
        hashlib.sha256(body).hexdigest(),
    ])
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    to_sign = "\n".join([
        "TC3-HMAC-SHA256", str(timestamp), f"{date}/{service}/tc3_request",
        hashlib.sha256(canonical.encode()).hexdigest(),
    ])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


REQUIRED = {
    "DescribeLiveStreamState": ("AppName", "DomainName", "StreamName"),
    "DescribeLiveStreamOnlineList": (),
    "DropLiveStream": ("AppName", "DomainName", "StreamName"),
    "ForbidLiveStream": ("AppName", "DomainName", "StreamName"),
    "ResumeLiveStream": ("AppName", "DomainName", "StreamName"),
}


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class FakeTencentLive:
    secret_id: str = "AKIDtest"
    secret_key: str = "test-secret-key"
    online: set[str] = field(default_factory=set)
    forbidden: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)  # error codes answered, first in first out
    delay: float = 0.0
    server: TestServer | None = None

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return f"{self.server.host}:{self.server.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/", self._handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()

    def calls_of(self, action: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == action]

    def _verify(self, request: web.Request, body: bytes) -> None:
        match = _AUTH.match(request.headers.get("Authorization", ""))
        if not match:
            raise ApiError("AuthFailure.InvalidAuthorization", "malformed Authorization header")
        timestamp = int(request.headers.get("X-TC-Timestamp", "0"))
        if abs(time.time() - timestamp) > 300:
            raise ApiError("AuthFailure.SignatureExpire", "signature expired")
        if match["id"] != self.secret_id:
            raise ApiError("AuthFailure.SecretIdNotFound", "unknown SecretId")
        if match["signed"] != "content-type;host" or match["service"] != "live":
            raise ApiError("AuthFailure.InvalidAuthorization", "wrong signed headers or service")
        if match["date"] != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d"):
            raise ApiError("AuthFailure.InvalidAuthorization", "credential date does not match timestamp")
        expected = tc3_signature(secret_key=self.secret_key, service="live", host=request.headers["Host"],
                                 content_type=request.headers["Content-Type"], body=body, timestamp=timestamp)
        if not hmac.compare_digest(expected, match["sig"]):
            raise ApiError("AuthFailure.SignatureFailure", "signature mismatch")
        if request.headers.get("X-TC-Version") != "2018-08-01":
            raise ApiError("InvalidParameter", "wrong X-TC-Version")

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        request_id = f"req-{len(self.calls)}"
        try:
            self._verify(request, body)
            action = request.headers.get("X-TC-Action", "")
            params = json.loads(body or b"{}")
            if action not in REQUIRED:
                raise ApiError("InvalidAction", f"unknown action {action}")
            missing = [name for name in REQUIRED[action] if not params.get(name)]
            if missing:
                raise ApiError("MissingParameter", f"missing {missing}")
            self.calls.append((action, params))
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.faults:
                code = self.faults.pop(0)
                raise ApiError(code, f"injected {code}")
            result = getattr(self, f"_{action}")(params)
        except ApiError as exc:
            return self._answer({"Error": {"Code": exc.code, "Message": exc.message}, "RequestId": request_id})
        return self._answer({**result, "RequestId": request_id})

    @staticmethod
    def _answer(response: dict[str, Any]) -> web.Response:
        # Tencent answers HTTP 200 with exactly this content type, errors included.
        return web.Response(body=json.dumps({"Response": response}), content_type="application/json")

    def _DescribeLiveStreamState(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["StreamName"]
        state = "forbid" if name in self.forbidden else "active" if name in self.online else "inactive"
        return {"StreamState": state}

    def _DescribeLiveStreamOnlineList(self, p: dict[str, Any]) -> dict[str, Any]:
        size, number = int(p.get("PageSize", 10)), int(p.get("PageNum", 1))
        if not 10 <= size <= 300_000 or number < 1:
            raise ApiError("InvalidParameterValue", "PageSize or PageNum out of range")
        names = sorted(self.online)
        pages = max(1, -(-len(names) // size))
        chunk = names[(number - 1) * size: number * size]
        info = [{"StreamName": n, "AppName": p.get("AppName", "live"), "DomainName": p.get("DomainName", ""),
                 "PublishTimeList": [{"PublishTime": "2026-11-24T00:00:00Z"}], "PushToDelay": 0} for n in chunk]
        return {"TotalNum": len(names), "TotalPage": pages, "PageNum": number, "PageSize": size, "OnlineInfo": info}

    def _DropLiveStream(self, p: dict[str, Any]) -> dict[str, Any]:
        self.online.discard(p["StreamName"])
        return {}

    def _ForbidLiveStream(self, p: dict[str, Any]) -> dict[str, Any]:
        if len(p.get("Reason", "").encode()) > 2048:
            raise ApiError("InvalidParameter", "Reason too long")
        self.forbidden[p["StreamName"]] = {"ResumeTime": p.get("ResumeTime"), "Reason": p.get("Reason")}
        self.online.discard(p["StreamName"])
        return {}

    def _ResumeLiveStream(self, p: dict[str, Any]) -> dict[str, Any]:
        self.forbidden.pop(p["StreamName"], None)
        return {}
