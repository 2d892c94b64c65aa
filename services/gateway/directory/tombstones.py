"""The rooms a directory saw close, remembered for a while: closed is final, so a late or
redelivered message about one of them must not bring it back into the lists."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

TOMBSTONE_SECONDS = 600.0
TOMBSTONES_MAX = 100_000  # about 150 bytes each


class Tombstones:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rooms: OrderedDict[str, float] = OrderedDict()  # closed room id -> when we learnt it
        self._streams: OrderedDict[str, str] = OrderedDict()  # their streams, in the same order

    def __contains__(self, room_id: object) -> bool:
        return room_id in self._rooms

    def has_stream(self, stream_id: str) -> bool:
        return stream_id in self._streams

    def bury(self, room_id: str, stream_id: str) -> None:
        now = self._clock()
        self._rooms[room_id] = now
        self._streams[stream_id] = room_id
        while self._rooms:
            buried_at = next(iter(self._rooms.values()))
            if len(self._rooms) <= TOMBSTONES_MAX and now - buried_at <= TOMBSTONE_SECONDS:
                break
            self._rooms.popitem(last=False)
            self._streams.popitem(last=False)
