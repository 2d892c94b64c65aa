"""Runs presence for one gateway: reaps dead streams, reports this gateway's streams, applies
the other gateways' reports, and shows the new `viewers_now` in the directory and live updates."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import structlog
from aiohttp import web

from services.gateway.context import BUS, DIRECTORY, LIVE, PRESENCE
from shared.contracts import PresenceReport
from shared.errors import BusUnavailable
from shared.metrics import LIVE_STREAMS, PRESENCE_INSTANCES

log = structlog.get_logger(__name__)

TICK_SECONDS = 1.0  # a viewer who closed the app leaves viewers_now within this (plus a report)


def show_viewers_now(app: web.Application, rooms: Iterable[str]) -> None:
    directory, live, presence = app[DIRECTORY], app[LIVE], app[PRESENCE]
    for room_id in rooms:
        viewers_now = presence.now(room_id)
        if directory.set_viewers_now(room_id, viewers_now):
            entry = directory.live(room_id)
            assert entry is not None
            live.viewers_now_changed(room_id, entry.viewers, viewers_now, entry.likes)


def on_presence_report(app: web.Application, report: PresenceReport) -> None:
    show_viewers_now(app, app[PRESENCE].apply(report))


async def keep_presence(app: web.Application) -> None:
    """Every second: reap dead streams, ring heartbeats. Every period: report (also this gateway's
    heartbeat to the others), expire silent gateways."""
    ticks_per_report = max(1, round(app[PRESENCE].period / TICK_SECONDS))
    tick = 0
    while True:
        await asyncio.sleep(TICK_SECONDS)
        tick += 1
        try:
            await _tick(app, report=tick % ticks_per_report == 0)
        except Exception:  # one bad tick must not freeze viewers_now (and every heartbeat) for good
            log.exception("presence.tick_failed")


async def _tick(app: web.Application, *, report: bool) -> None:
    presence, live, bus = app[PRESENCE], app[LIVE], app[BUS]
    live.tick()
    if not report:
        return
    streams = live.streams()
    LIVE_STREAMS.set(sum(streams.values()))
    mine, changed = presence.report(streams)
    show_viewers_now(app, changed | presence.expire())
    PRESENCE_INSTANCES.set(presence.instances)
    if bus.connected:
        try:
            await bus.publish_event(mine)
        except BusUnavailable as exc:  # the others drop this gateway's counts until it is back
            log.warning("presence.report_failed", error=str(exc))
