"""The streams context: what the cloud or the media server reports about pushes, and what the
status watcher concludes from polling them."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.contracts.base import Contract


class PushReport(Contract):
    """What the cloud (or the local media server) says about one push (no TYPE: a base only)."""

    stream_id: str
    source: str = Field(description="`tencent` or `nginx-rtmp`")
    sequence: str | None = Field(None, description="Push session id: pairs a start with its stop")
    event_time: datetime | None = None


class StreamStarted(PushReport):
    """A push began."""

    TYPE: ClassVar[str] = "stream.started"


class StreamStopped(PushReport):
    """A push ended."""

    TYPE: ClassVar[str] = "stream.stopped"
    errcode: int | None = Field(None, description="Tencent stop code (1-4 anchor, 8/20 no data, 21 our drop...)")
    errmsg: str | None = None


class StreamOfflineStrike(Contract):
    """The status watcher saw an active room's stream explicitly offline `count` polls in a row."""

    TYPE: ClassVar[str] = "stream.offline_strike"
    room_id: str
    stream_id: str
    count: int = Field(ge=1)
    observed_at: datetime | None = Field(None, description="When the poll that found it offline was made")


class StreamRecovered(Contract):
    """A struck or interrupted stream was seen online again; its strikes are reset."""

    TYPE: ClassVar[str] = "stream.recovered"
    room_id: str
    stream_id: str
    strikes_before: int = Field(ge=0)
    observed_at: datetime | None = Field(None, description="When the poll that found it online was made")


