"""The gateway's in-memory room directory: the read side of the room list (CQRS)."""

from services.gateway.directory.cursors import CursorCodec
from services.gateway.directory.directory import RoomDirectory
from services.gateway.directory.entry import Entry
from services.gateway.directory.listing import CursorExpired, RoomLister
from services.gateway.directory.sync import keep_synced, load_snapshot

__all__ = ["CursorCodec", "CursorExpired", "Entry", "RoomDirectory", "RoomLister", "keep_synced", "load_snapshot"]
