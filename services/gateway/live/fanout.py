"""Live updates fanned out to the viewers connected to this gateway, per room (`LiveRooms`).

Each viewer (`Viewer`: one open stream) keeps only the latest counts (and what was added since
it was last written to), the newest push change and the close, so a slow viewer costs memory
for one snapshot and never blocks the others. The viewers per room are this gateway's share of
`viewers_now` (`presence.py`); `tick` finds the streams whose connection is gone and rings
their heartbeats. What a viewer is sent is built from the answer models (`http/answers.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field

from services.gateway.http.answers import ClosedEvent, InterruptedEvent, ResumedEvent, closed_event, stream_event
from shared.contracts import Room, RoomCounts


@dataclass(eq=False)  # identity semantics: each stream is its own viewer
class Viewer:
    """One live-update stream: the newest snapshot to write, and a bell to ring."""

    user: str = ""  # who watches: `viewers_now` counts people, not their streams
    alive: Callable[[], bool] = lambda: True  # False once the connection is gone
    counts: dict[str, int] | None = None
    stream: InterruptedEvent | ResumedEvent | None = None  # the newest only
    closed: ClosedEvent | None = None
    notes: list[Room] = field(default_factory=list)  # followed anchors' rooms that went live (`/v1/me/events`)
    gone: bool = False
    beat_due: bool = False  # time for a heartbeat (and a look at the token's expiry)
    next_beat: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self) -> tuple[dict[str, int] | None, InterruptedEvent | ResumedEvent | None, ClosedEvent | None, bool]:
        counts, self.counts = self.counts, None
        stream, self.stream = self.stream, None
        beat, self.beat_due = self.beat_due, False
        self.wake.clear()
        return counts, stream, self.closed, beat

    def push_counts(self, viewers: int, viewers_now: int, likes: int, *, viewers_added: int = 0,
                    likes_added: int = 0) -> None:
        added = self.counts or {"likes_added": 0, "viewers_added": 0}
        self.counts = {"viewers": viewers, "viewers_now": viewers_now, "likes": likes,
                       "viewers_added": added["viewers_added"] + viewers_added,
                       "likes_added": added["likes_added"] + likes_added}
        self.wake.set()

    def push_stream(self, event: InterruptedEvent | ResumedEvent) -> None:
        """The push stopped (`interrupted`) or is back (`resumed`); a viewer sees the newest."""
        self.stream = event
        self.wake.set()

    def push_closed(self, event: ClosedEvent) -> None:
        self.closed = event
        self.wake.set()

    def push_note(self, room: Room) -> None:
        self.notes.append(room)
        self.wake.set()

    def take_notes(self) -> list[Room]:
        notes, self.notes = self.notes, []
        return notes


_NO_VIEWERS: frozenset[Viewer] = frozenset()


class LiveRooms:
    def __init__(self, *, heartbeat: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._viewers: dict[str, set[Viewer]] = {}
        self._heartbeat, self._clock = heartbeat, clock

    def join(self, room_id: str, user: str, alive: Callable[[], bool] = lambda: True) -> Viewer:
        viewer = Viewer(user, alive, next_beat=self._clock() + self._heartbeat)
        self._viewers.setdefault(room_id, set()).add(viewer)
        return viewer

    def leave(self, room_id: str, viewer: Viewer) -> None:
        viewers = self._viewers.get(room_id)
        if viewers is not None:
            viewers.discard(viewer)
            if not viewers:
                del self._viewers[room_id]

    def __len__(self) -> int:
        return len(self._viewers)

    def of(self, key: str) -> Set[Viewer]:
        """The open streams of one key (a room, or a user)."""
        return self._viewers.get(key, _NO_VIEWERS)

    def by_key(self) -> Iterable[tuple[str, set[Viewer]]]:
        """Every key (a room, or a user for `/v1/me/events`) with its open streams."""
        return self._viewers.items()

    def streams(self) -> dict[str, int]:
        """People watching each room on this gateway (what `presence.py` reports): a person with
        several streams open on one room counts once."""
        return {room_id: len({viewer.user for viewer in viewers}) for room_id, viewers in self._viewers.items()}

    def tick(self) -> int:
        """Once a second: wake the streams whose connection is gone (the viewer closed the app, or
        the kernel gave up on a dead peer) so they leave now, and those due a heartbeat. One pass
        for every stream here, instead of a timer per stream (10,000 timers cost a quarter of a
        core at rest). Returns how many were found gone."""
        reaped, now = 0, self._clock()
        for viewers in self._viewers.values():
            for viewer in viewers:
                if viewer.gone:
                    continue
                if not viewer.alive():
                    viewer.gone = True
                    viewer.wake.set()
                    reaped += 1
                elif now >= viewer.next_beat:
                    viewer.beat_due, viewer.next_beat = True, now + self._heartbeat
                    viewer.wake.set()
        return reaped

    def counts_changed(self, rooms: Iterable[RoomCounts], viewers_now: Callable[[str], int]) -> None:
        for counts in rooms:
            for viewer in self._viewers.get(counts.room_id, ()):
                viewer.push_counts(counts.viewers, viewers_now(counts.room_id), counts.likes,
                                   viewers_added=counts.viewers_added, likes_added=counts.likes_added)

    def viewers_now_changed(self, room_id: str, viewers: int, viewers_now: int, likes: int) -> None:
        for viewer in self._viewers.get(room_id, ()):
            viewer.push_counts(viewers, viewers_now, likes)

    def stream_changed(self, room: Room) -> None:
        event = stream_event(room)
        for viewer in self._viewers.get(room.id, ()):
            viewer.push_stream(event)

    def room_closed(self, room: Room) -> None:
        event = closed_event(room)
        for viewer in self._viewers.get(room.id, ()):
            viewer.push_closed(event)
