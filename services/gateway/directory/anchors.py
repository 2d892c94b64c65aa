"""The anchors whose room is listed now, each with that room's entry, and who is told when one
comes or goes: what the Following tab is built from (`filtered.py`, and the followed rooms on
air of each cached viewer in `follows/on_air.py`)."""

from __future__ import annotations

from collections.abc import Callable

from services.gateway.directory.entry import Entry

# Told (the anchor's room that stopped being listed, the one listed now) when an anchor's room goes
# in or out of the lists; both when the anchor opened a room before the last one's close arrived.
Watcher = Callable[[Entry | None, Entry | None], None]


class ListedAnchors:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self.entry_of: Callable[[str], Entry | None] = self._entries.get  # a C call, for the page's lookups
        self.watchers: list[Watcher] = []

    def __contains__(self, anchor_id: object) -> bool:
        return anchor_id in self._entries

    def listed(self, entry: Entry) -> None:
        held = self._entries.get(entry.anchor_id)
        self._entries[entry.anchor_id] = entry
        if held is not entry:  # the watchers hold entries by identity: a new one of the same room too
            for watcher in self.watchers:
                watcher(held, entry)

    def unlisted(self, entry: Entry) -> None:
        """The room left the lists: its anchor goes too, unless a room of theirs was listed since."""
        held = self._entries.get(entry.anchor_id)
        if held is not None and held.room_id == entry.room_id:
            del self._entries[entry.anchor_id]
            for watcher in self.watchers:
                watcher(held, None)
