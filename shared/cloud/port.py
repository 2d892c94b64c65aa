"""What Onair needs from a live-streaming cloud, whichever cloud it is."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from shared.failures import Transient


class StreamState(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    FORBIDDEN = "forbidden"
    # The cloud did not give a clear answer (timeout, error, unparseable). Never a strike:
    # an outage of the status API must not close rooms.
    UNKNOWN = "unknown"


class CloudUnavailable(Transient):
    """A cloud action failed after the adapter's retries; the caller may retry later."""


class CloudPort(ABC):
    """Stream state, stop-push and resume for the streams of Onair's rooms."""

    name: str
    calls: int = 0  # cloud API calls made (metrics, and the watcher's per-cycle figures)

    @abstractmethod
    async def stream_states(self, streams: Sequence[str]) -> dict[str, StreamState]:
        """State of many streams, in as few cloud calls as the adapter allows.

        Every requested stream is in the answer; what the cloud did not answer is UNKNOWN.
        """

    @abstractmethod
    async def forbid(self, stream: str, *, reason: str, resume_at: datetime) -> None:
        """Cut the push and refuse new pushes of `stream` until `resume_at`."""

    @abstractmethod
    async def drop(self, stream: str) -> None:
        """Cut the current push (the encoder may push again)."""

    @abstractmethod
    async def resume(self, stream: str) -> None:
        """Lift a forbid before its resume time."""

    async def delete_recording(self, location: str, file_id: str | None) -> None:
        """Delete a recording from storage (its path on the media server, or the cloud's VOD file).
        A recording already gone counts as deleted. Both adapters override this."""
        raise CloudUnavailable(f"{self.name} keeps no recordings to delete")

    async def stop_push(self, stream: str, *, reason: str, resume_at: datetime) -> None:
        """A ban: forbid first (so the encoder cannot reconnect), then drop the live push."""
        await self.forbid(stream, reason=reason, resume_at=resume_at)
        await self.drop(stream)

    async def close(self) -> None:
        """Release connections."""
