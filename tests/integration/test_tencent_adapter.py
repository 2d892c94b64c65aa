"""The Tencent adapter, through Tencent's SDK, against the signature-checking local API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from shared.cloud import CloudUnavailable, StreamState
from shared.cloud.tencent import TencentCloud
from shared.settings import CloudSettings
from tests.fakes.tencent_api import FakeTencentLive


@pytest.fixture
async def fake() -> AsyncIterator[FakeTencentLive]:
    api = FakeTencentLive()
    await api.start()
    yield api
    await api.stop()


def adapter(fake: FakeTencentLive, **overrides: object) -> TencentCloud:
    fields: dict[str, object] = {
        "cloud": "tencent", "tencent_secret_id": fake.secret_id, "tencent_secret_key": SecretStr(fake.secret_key),
        "tencent_endpoint": fake.endpoint, "tencent_scheme": "http", "push_domain": "push.example.com",
        "tencent_page_size": 10, "tencent_timeout_seconds": 1.0,
    }
    return TencentCloud(CloudSettings(**{**fields, **overrides}))  # type: ignore[arg-type]


async def test_single_stream_state(fake: FakeTencentLive) -> None:
    cloud = adapter(fake)
    fake.online = {"s-live"}
    fake.forbidden = {"s-banned": {}}
    assert await cloud.stream_states(["s-live"]) == {"s-live": StreamState.ONLINE}
    assert await cloud.stream_states(["s-gone"]) == {"s-gone": StreamState.OFFLINE}
    assert await cloud.stream_states(["s-banned"]) == {"s-banned": StreamState.FORBIDDEN}
    assert fake.calls_of("DescribeLiveStreamState")[0] == {
        "AppName": "live", "DomainName": "push.example.com", "StreamName": "s-live"}
    await cloud.close()


async def test_batch_state_reads_every_page_of_the_online_list(fake: FakeTencentLive) -> None:
    cloud = adapter(fake)
    fake.online = {f"s{i:03d}" for i in range(35)}  # 4 pages of 10
    wanted = ["s000", "s034", "s999", "s017"]
    states = await cloud.stream_states(wanted)
    assert states == {"s000": StreamState.ONLINE, "s034": StreamState.ONLINE, "s999": StreamState.OFFLINE,
                      "s017": StreamState.ONLINE}
    pages = fake.calls_of("DescribeLiveStreamOnlineList")
    assert [p["PageNum"] for p in pages] == [1, 2, 3, 4]
    assert all(p["PageSize"] == 10 and p["DomainName"] == "push.example.com" for p in pages)
    await cloud.close()


async def test_rate_limit_errors_are_retried(fake: FakeTencentLive) -> None:
    cloud = adapter(fake)
    fake.online = {"a", "b"}
    fake.faults = ["RequestLimitExceeded", "InternalError"]
    assert await cloud.stream_states(["a", "c"]) == {"a": StreamState.ONLINE, "c": StreamState.OFFLINE}
    assert len(fake.calls_of("DescribeLiveStreamOnlineList")) == 3
    await cloud.close()


@pytest.mark.parametrize("fault", ["AuthFailure.SignatureFailure", "InternalError", "InvalidParameter"])
async def test_errors_are_unknown_never_offline(fake: FakeTencentLive, fault: str) -> None:
    cloud = adapter(fake)
    fake.faults = [fault] * 5
    assert await cloud.stream_states(["a", "b"]) == {"a": StreamState.UNKNOWN, "b": StreamState.UNKNOWN}
    fake.faults = [fault] * 5
    assert await cloud.stream_states(["a"]) == {"a": StreamState.UNKNOWN}
    await cloud.close()


async def test_timeouts_are_unknown(fake: FakeTencentLive) -> None:
    cloud = adapter(fake, tencent_timeout_seconds=0.2, tencent_retries=1)
    fake.delay = 1.0
    assert await cloud.stream_states(["a", "b"]) == {"a": StreamState.UNKNOWN, "b": StreamState.UNKNOWN}
    await cloud.close()


async def test_a_wrong_secret_is_refused_by_the_signature_check(fake: FakeTencentLive) -> None:
    cloud = adapter(fake, tencent_secret_key=SecretStr("not-the-key"))
    assert await cloud.stream_states(["a"]) == {"a": StreamState.UNKNOWN}
    assert fake.calls == []  # refused before any action ran
    with pytest.raises(CloudUnavailable, match="SignatureFailure"):
        await cloud.drop("a")
    await cloud.close()


async def test_stop_push_forbids_with_reason_and_resume_time_then_drops(fake: FakeTencentLive) -> None:
    cloud = adapter(fake)
    fake.online = {"s1"}
    resume = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    await cloud.stop_push("s1", reason="x" * 3000, resume_at=resume)
    assert [name for name, _ in fake.calls] == ["ForbidLiveStream", "DropLiveStream"]
    forbid = fake.calls_of("ForbidLiveStream")[0]
    assert forbid["ResumeTime"] == "2026-12-01T08:30:00Z" and len(forbid["Reason"]) == 2048
    assert await cloud.stream_states(["s1"]) == {"s1": StreamState.FORBIDDEN}
    await cloud.resume("s1")
    assert await cloud.stream_states(["s1"]) == {"s1": StreamState.OFFLINE}
    await cloud.close()


async def test_failing_actions_raise_after_retries(fake: FakeTencentLive) -> None:
    cloud = adapter(fake)
    fake.faults = ["InternalError"] * 3
    with pytest.raises(CloudUnavailable):
        await cloud.drop("s1")
    assert len(fake.calls_of("DropLiveStream")) == 3
    await cloud.close()


async def test_client_side_rate_limit_is_respected(fake: FakeTencentLive) -> None:
    # 300/s documented x 0.1 share = 30/s: 45 calls cannot finish in under ~0.5 s.
    cloud = adapter(fake, tencent_rate_share=0.1)
    started = time.monotonic()
    for i in range(45):
        await cloud.stream_states([f"s{i}"])
    elapsed = time.monotonic() - started
    assert elapsed >= 0.45, elapsed
    await cloud.close()
