"""Black-screen detection rules, with no I/O.

A watched room is struck once per poll whose answer is an explicit OFFLINE (or FORBIDDEN: a
forbidden stream cannot be live); ONLINE resets its strikes (and, for a room rooms holds as
interrupted, reports it back: the start callback may have been lost); UNKNOWN (timeout, error) changes
nothing, so an outage of the status API never closes rooms. At `threshold` consecutive strikes
the room is due to be closed. Rooms activated less than one interval ago are not polled yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.cloud import StreamState

_STRIKING = frozenset({StreamState.OFFLINE, StreamState.FORBIDDEN})


@dataclass
class Watched:
    room_id: str
    stream_id: str
    activated_at: datetime
    strikes: int = 0
    closing: bool = False  # a close was asked for; not struck again
    interrupted: bool = False  # rooms holds it off the list: an online poll says it is back
    synced_at: float = 0.0  # monotonic time this entry was last confirmed (event or re-sync)


@dataclass
class CycleOutcome:
    struck: list[Watched] = field(default_factory=list)
    recovered: list[tuple[Watched, int]] = field(default_factory=list)  # (room, strikes it had, maybe 0)
    to_close: list[Watched] = field(default_factory=list)
    unknown: int = 0


class StrikeBook:
    def __init__(self, threshold: int, grace: timedelta) -> None:
        self.threshold = threshold
        self.grace = grace
        self._rooms: dict[str, Watched] = {}
        self._by_stream: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._rooms)

    def get(self, room_id: str) -> Watched | None:
        return self._rooms.get(room_id)

    def watch(self, room_id: str, stream_id: str, activated_at: datetime, *, now: float,
              interrupted: bool = False) -> None:
        entry = self._rooms.get(room_id)
        if entry is None:
            self._rooms[room_id] = Watched(room_id, stream_id, activated_at, synced_at=now, interrupted=interrupted)
            self._by_stream[stream_id] = room_id
        else:
            entry.synced_at, entry.interrupted = now, interrupted

    def unwatch(self, room_id: str) -> None:
        entry = self._rooms.pop(room_id, None)
        if entry is not None:
            self._by_stream.pop(entry.stream_id, None)

    def push_started(self, stream_id: str) -> Watched | None:
        """A push-started callback: the anchor is (back) on air, strikes reset."""
        entry = self._rooms.get(self._by_stream.get(stream_id, ""))
        if entry is not None:
            entry.strikes = 0
        return entry

    def resync(self, snapshot: Iterable[tuple[str, str, datetime, bool]], *, started: float, now: float) -> int:
        """Adopt the rooms service's list of active rooms; drop rooms it no longer lists.

        A room added by an event after the re-sync started is kept even if the snapshot (read
        earlier) missed it. Returns how many rooms were dropped.
        """
        for room_id, stream_id, activated_at, interrupted in snapshot:
            self.watch(room_id, stream_id, activated_at, now=now, interrupted=interrupted)
        stale = [room_id for room_id, entry in self._rooms.items() if entry.synced_at < started]
        for room_id in stale:
            self.unwatch(room_id)
        return len(stale)

    def streams_to_poll(self, now: datetime) -> list[str]:
        cutoff = now - self.grace
        return [e.stream_id for e in self._rooms.values() if not e.closing and e.activated_at <= cutoff]

    def apply(self, states: Mapping[str, StreamState]) -> CycleOutcome:
        outcome = CycleOutcome()
        for stream_id, state in states.items():
            entry = self._rooms.get(self._by_stream.get(stream_id, ""))
            if entry is None or entry.closing:
                continue
            if state is StreamState.ONLINE:
                if entry.strikes or entry.interrupted:
                    outcome.recovered.append((entry, entry.strikes))
                    entry.strikes, entry.interrupted = 0, False
            elif state in _STRIKING:
                entry.strikes += 1
                outcome.struck.append(entry)
                if entry.strikes >= self.threshold:
                    entry.closing = True
                    outcome.to_close.append(entry)
            else:
                outcome.unknown += 1
        return outcome
