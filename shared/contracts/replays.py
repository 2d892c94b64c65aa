"""Replays: the recordings of a room's pushes (one part per push session, in order), and the
commands, queries and events around them. The rooms service owns them beside the rooms."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.contracts.base import Contract, Query, Request


class Replay(Contract):
    """One recorded part of a room's show. `location` is where the recording is stored: a path
    under the local media server's recordings, or the cloud's VOD URL; clients get a URL the
    gateway signs, never this."""

    id: str = Field(description="Stable: derived from the source and its recording, so a repeated report is one replay")
    room_id: str
    anchor_id: str
    stream_id: str
    source: str = Field(description="`nginx-rtmp` or `tencent`")
    location: str
    file_id: str | None = Field(None, description="The cloud's VOD file id (what its delete API takes)")
    started_at: datetime
    ended_at: datetime
    duration_seconds: float = Field(ge=0)
    size_bytes: int = Field(ge=0)
    banned: bool = Field(False, description="Its room was closed by a ban: hidden from all but moderators")
    hidden_by: str | None = Field(None, description="The moderator who hid it (kept, shown to moderators only)")
    deleted_at: datetime | None = Field(None, description="Deleted by its anchor: gone for everyone, "
                                        "its file deleted by the next retention sweep")
    expires_at: datetime = Field(description="Its file and record are deleted then (the retention setting)")

    @property
    def hidden(self) -> bool:
        return self.banned or self.hidden_by is not None or self.deleted_at is not None


class RecordingSaved(Contract):
    """The media server (its record hook) or the cloud (its record callback) stored a recording
    of one push session of a stream."""

    TYPE: ClassVar[str] = "stream.recorded"
    stream_id: str = Field(min_length=1, max_length=256)
    source: str
    location: str = Field(min_length=1, max_length=2048)
    file_id: str | None = Field(None, max_length=256)
    started_at: datetime
    ended_at: datetime
    duration_seconds: float = Field(ge=0)
    size_bytes: int = Field(ge=0)


class ReplayPage(Contract):
    replays: list[Replay]
    more: bool = Field(description="True when older replays follow the last one")


class ListReplays(Query[ReplayPage]):
    """An anchor's replays (or one room's), newest first, after the keyset (`before_started_at`,
    `before_id`) of the previous page's last one."""

    TYPE: ClassVar[str] = "rooms.replays"
    anchor_id: str | None = None
    room_id: str | None = None
    limit: int = Field(20, ge=1, le=100)
    before_started_at: datetime | None = None
    before_id: str | None = None
    include_hidden: bool = Field(False, description="Moderators: hidden and banned ones too (never deleted ones)")


class DeleteReplay(Request[Replay]):
    TYPE: ClassVar[str] = "rooms.delete_replay"
    replay_id: str
    actor_id: str = Field(description="Must be the replay's anchor")


class HideReplay(Request[Replay]):
    TYPE: ClassVar[str] = "rooms.hide_replay"
    replay_id: str
    moderator_id: str
    hidden: bool = Field(True, description="False shows it again")


class RecordingReady(Contract):
    TYPE: ClassVar[str] = "room.recording_ready"
    replay: Replay


class RecordingDeleted(Contract):
    TYPE: ClassVar[str] = "room.recording_deleted"
    replay_id: str
    room_id: str
    anchor_id: str
    reason: str = Field(description="`anchor` (deleted by its anchor) or `retention` (expired)")
