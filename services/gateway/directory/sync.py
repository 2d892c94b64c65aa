"""Loading the directory from the rooms service: a paged snapshot at start, again at once after
the broker connection comes back (the gateway's private event queue may have missed events
meanwhile), and every `resync_every` seconds as a safety net: a missed event leaves a room wrong
for one period at most."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time

import structlog

from services.gateway.directory.directory import RoomDirectory
from services.gateway.ports import LivePages
from shared.contracts import Room
from shared.metrics import DIRECTORY_SYNCED

log = structlog.get_logger(__name__)

RETRY_SECONDS = 2.0
# A snapshot page is thousands of rooms: allowed longer than an interactive request (the embedded
# store sorts each page in memory; at 100,000 rooms a page takes seconds there).
PAGE_TIMEOUT_SECONDS = 30.0


async def load_snapshot(rooms: LivePages, directory: RoomDirectory, *, page_size: int, timeout: float) -> None:
    started = time.monotonic()
    directory.begin_snapshot()
    live: list[Room] = []
    after_id: str | None = None
    while True:
        page = await rooms.live_page(after_id=after_id, limit=page_size, timeout=max(timeout, PAGE_TIMEOUT_SECONDS))
        live.extend(page.rooms)
        if page.last_id is None:
            break
        after_id = page.last_id
    dropped = directory.finish_snapshot(live)
    # The directory is long-lived: keep the collector from walking it on every full collection
    # (tens of thousands of entries: milliseconds of pause that would land in the list's p99).
    gc.freeze()
    log.info("directory.synced", live=len(directory), located=directory.located, dropped=dropped,
             ms=round((time.monotonic() - started) * 1000, 1))


async def keep_synced(rooms: LivePages, directory: RoomDirectory, reconnected: asyncio.Event, *,
                      resync_every: float, page_size: int, timeout: float) -> None:
    """Snapshot now, after every reconnect of the bus (`reconnected` set), and every
    `resync_every` seconds; a failed snapshot is retried soon."""
    while True:
        try:
            reconnected.clear()
            await load_snapshot(rooms, directory, page_size=page_size, timeout=timeout)
            DIRECTORY_SYNCED.set_to_current_time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reconnected.wait(), resync_every)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the rooms service or the broker is away: keep serving what we hold
            log.warning("directory.sync_failed", error=repr(exc))
            await asyncio.sleep(RETRY_SECONDS)
