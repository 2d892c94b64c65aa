"""Viewer and like increments leave the gateway in small batches, not one message per tap.

Requests arriving within `window` seconds are merged into one `rooms.counters` message (per
room, except entries with a client Idempotency-Key, which stay separate so the rooms service
can count them once). A request's 202 waits for the broker's confirm of its batch, so an
accepted like is never lost with the gateway. A failed publish is retried with the same
message id, which the rooms service uses to count the batch once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from shared.bus import PUBLISH_CONFIRM_SECONDS
from shared.contracts import Contract, CounterEntry, Envelope, RecordCounters
from shared.errors import BusUnavailable
from shared.metrics import COUNTER_BATCH_SIZE

log = structlog.get_logger(__name__)

# A person counts once a window in `sort=hot` (the window is the hot score's half-life).
LIKER_WINDOW_SECONDS = 600.0


@dataclass
class _Pending:
    unkeyed: dict[str, list[int]]  # room -> [viewers, likes]
    keyed: list[CounterEntry]
    waiters: list[asyncio.Future[None]]


def _empty() -> _Pending:
    return _Pending(defaultdict(lambda: [0, 0]), [], [])


class FirstLikes:
    """Who liked which room in the current window (`LIKER_WINDOW_SECONDS`), so that a person's
    first like of a window carries a liker mark and the rest do not: `sort=hot` counts people,
    and a clicker at the like limit adds one person, not hundreds of likes. Rooms counts each mark
    once by its key (every gateway may send one); this only spares the messages. Bounded."""

    def __init__(self, *, window: float = LIKER_WINDOW_SECONDS, max_marks: int = 200_000,
                 clock: Callable[[], float] = time.time) -> None:
        self._window, self._max, self._clock = window, max_marks, clock
        self._marked: OrderedDict[str, None] = OrderedDict()

    def mark(self, room_id: str, user: str) -> str | None:
        """The liker key if this is `user`'s first like of `room_id` in this window, else None."""
        key = f"{user}:liker:{int(self._clock() // self._window)}"
        seen = f"{room_id}|{key}"
        if seen in self._marked:
            return None
        self._marked[seen] = None
        if len(self._marked) > self._max:
            self._marked.popitem(last=False)
        return key

    def forget(self, room_id: str, key: str) -> None:
        """A mark that never reached the broker: the person's next like carries it again."""
        self._marked.pop(f"{room_id}|{key}", None)


class CommandPublisher(Protocol):
    async def publish_command(self, payload: Contract, *, correlation_id: str | None = None,
                              message_id: str | None = None) -> Envelope: ...


class CounterBatcher:
    """`clock` and `sleep` are injectable so that tests need not wait."""

    def __init__(self, bus: CommandPublisher, *, window: float = 0.01, max_waiters: int = 2000,
                 publish_attempts: int = 3, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 first_likes: FirstLikes | None = None) -> None:
        self._bus = bus
        self._first_likes = first_likes or FirstLikes()
        self._window, self._max_waiters, self._attempts = window, max_waiters, publish_attempts
        self._clock, self._sleep = clock, sleep
        self._pending = _empty()
        self._timer: asyncio.TimerHandle | None = None
        self._publishing: set[asyncio.Task[None]] = set()  # strong references until done

    async def add(self, room_id: str, *, viewers: int = 0, likes: int = 0, key: str | None = None,
                  liker: str | None = None) -> None:
        """Return once the increment is safely with the broker; raise BusUnavailable if it is not.
        `liker`: who liked; their first like of the room in the window carries a liker mark."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending = self._pending
        if key is None:
            counts = pending.unkeyed[room_id]
            counts[0] += viewers
            counts[1] += likes
        else:
            pending.keyed.append(CounterEntry(room_id=room_id, viewers=viewers, likes=likes, key=key))
        if liker is not None and (mark := self._first_likes.mark(room_id, liker)) is not None:
            pending.keyed.append(CounterEntry(room_id=room_id, likers=1, key=mark))
        pending.waiters.append(waiter)
        if len(pending.waiters) >= self._max_waiters:
            self._start_flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window, self._start_flush)
        await waiter

    def _start_flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, _empty()
        if batch.waiters:
            task = asyncio.create_task(self._publish(batch))
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)

    async def _publish(self, batch: _Pending) -> None:
        entries = [CounterEntry(room_id=room, viewers=v, likes=k) for room, (v, k) in batch.unkeyed.items()]
        command = RecordCounters(entries=entries + batch.keyed)
        COUNTER_BATCH_SIZE.labels("gateway").observe(len(command.entries))
        message_id = uuid.uuid4().hex
        error: BusUnavailable | None = None
        give_up_at = self._clock() + PUBLISH_CONFIRM_SECONDS  # a like is answered within about a second
        published = False
        for attempt in range(1, self._attempts + 1):
            try:
                await self._bus.publish_command(command, message_id=message_id)
                published = True
                break
            except BusUnavailable as exc:
                error = exc
                log.warning("counters.publish_retry", attempt=attempt, error=str(exc))
                if self._clock() >= give_up_at:
                    break
                await self._sleep(0.05 * attempt)
        if not published:
            for entry in batch.keyed:
                if entry.likers and entry.key is not None:
                    self._first_likes.forget(entry.room_id, entry.key)
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_exception(error or BusUnavailable("counter batch not published"))
            return
        for waiter in batch.waiters:
            if not waiter.done():
                waiter.set_result(None)
