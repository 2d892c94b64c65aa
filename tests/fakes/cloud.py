"""The cloud's stream status and stop-push API, in memory (a fake that subclasses the real port)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.cloud import CloudPort, StreamState


class FakeCloud(CloudPort):
    """Answers from a state table; streams it does not know are UNKNOWN (like a failed call)."""

    name = "fake"

    def __init__(self) -> None:
        self.states: dict[str, StreamState] = {}
        self.calls = 0

    async def stream_states(self, streams: Sequence[str]) -> dict[str, StreamState]:
        self.calls += 1
        return {s: self.states.get(s, StreamState.UNKNOWN) for s in streams}

    async def forbid(self, stream: str, *, reason: str, resume_at: datetime) -> None: ...

    async def drop(self, stream: str) -> None: ...

    async def resume(self, stream: str) -> None: ...
