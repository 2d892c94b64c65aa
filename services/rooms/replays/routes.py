"""The replays' messages, wired to their handlers (the rooms bootstrap serves them beside the rooms')."""

from __future__ import annotations

from datetime import timedelta

from services.rooms.ports import EventPublisher, RoomStore
from services.rooms.replays import handlers
from services.rooms.replays.store import ReplayStore
from shared.bus import Routes, route
from shared.contracts import DeleteReplay, HideReplay, ListReplays, RecordingSaved, RoomClosed


def event_routes(rooms: RoomStore, replays: ReplayStore, events: EventPublisher, retention: timedelta) -> Routes:
    """Told: a recording saved (hooks, callbacks), and a room closed (a ban hides its replays)."""
    return dict([
        route(RecordingSaved, lambda _, event: handlers.recording_saved(
            event, rooms=rooms, replays=replays, events=events, retention=retention)),
        route(RoomClosed, lambda _, event: handlers.room_closed(event, replays=replays)),
    ])


def request_routes(replays: ReplayStore) -> Routes:
    return dict([
        route(DeleteReplay, lambda _, cmd: handlers.delete_replay(cmd, replays=replays)),
        route(HideReplay, lambda _, cmd: handlers.hide_replay(cmd, replays=replays)),
    ])


def query_routes(replays: ReplayStore) -> Routes:
    return dict([route(ListReplays, lambda _, query: handlers.list_replays(query, replays=replays))])
