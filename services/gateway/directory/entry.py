"""One live room in the directory, compact: its JSON ready to send and its counts as numbers."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from shared.contracts import LiveState, Room

# Fields that change while a room is live: kept as numbers, written into its JSON at render time.
_MOVING = {"viewers", "likes", "version"}


def new_key(room: Room) -> tuple[int, str]:
    assert room.activated_at is not None, "only active rooms are listed"
    return int(room.activated_at.timestamp() * 1000), room.id


_ID_BYTES = 128  # room ids are message ids (32 hex digits); any up to this many UTF-8 bytes order exactly


def order_key(activated_ms: int, room_id: str) -> int:
    """The `new` order's key (activated ms, room id) as one int that orders the same: ints sort
    and compare in C several times faster than tuples (the Following tab sorts its rooms by it)."""
    return (activated_ms << (8 * _ID_BYTES)) | int.from_bytes(room_id.encode()[:_ID_BYTES].ljust(_ID_BYTES, b"\0"))


@dataclass(slots=True, eq=False, kw_only=True)
class Entry:
    """One live room, compact: its JSON ready to send (without the closing brace), in three
    parts found by offset: the fixed fields, the counts, the play URLs (signed for `period`).
    A change of counts or of period replaces only its part; a page is a join of these."""

    # First, next to the object's header (read by every set or dict probe of an entry): what a
    # page reads of each of its rooms, so that it is mostly in a cache line already read.
    json: bytes
    period: int = -1  # the play-URL period `json` was signed for; -1: no URLs yet
    place: int = -1  # where it stands in the newest ranking, if it is in it (`hot.py`)
    room_id: str
    stream_id: str
    anchor_id: str
    category: str | None
    activated_ms: int
    version: int
    viewers: int
    likes: int
    viewers_now: int
    fixed_len: int
    urls_at: int
    recent_likers: float = 0.0  # people who liked, decaying (`hot.py`), as they stood at `recent_at`
    recent_at: float = 0.0
    order: int = 0  # `order_key` of (activated_ms, room_id)
    listed: bool = True  # False while the push is interrupted: held for reads, in no order

    @classmethod
    def of(cls, room: Room, was: Entry | None = None) -> Entry:
        """The room's entry; `was`, its entry before a change of stream state, lends what only
        the gateway knows (viewers now, decaying likes)."""
        fixed = json.dumps(room.model_dump(mode="json", exclude=_MOVING), separators=(",", ":")).encode()[:-1]
        activated_ms = new_key(room)[0]
        # The anchor id interned, as the follow sets' are: the followed rooms on air of every
        # cached viewer are found and kept by it (`follows/on_air.py`), and the same object
        # matches at once.
        entry = cls(json=fixed, room_id=room.id, stream_id=room.stream_id, anchor_id=sys.intern(room.anchor_id),
                    category=room.category, activated_ms=activated_ms, version=0, viewers=0, likes=0, viewers_now=0,
                    fixed_len=len(fixed), urls_at=len(fixed), order=order_key(activated_ms, room.id),
                    listed=listed(room))
        if was is not None:
            entry.viewers_now, entry.recent_likers, entry.recent_at = was.viewers_now, was.recent_likers, was.recent_at
        entry.set_counts(room.version, room.viewers, room.likes)
        return entry

    def set_counts(self, version: int, viewers: int, likes: int) -> None:
        self.version, self.viewers, self.likes = version, viewers, likes
        self._render_counts()

    def set_viewers_now(self, viewers_now: int) -> None:
        """Open live-update streams across the gateways (`presence.py`); not part of the stored room."""
        self.viewers_now = viewers_now
        self._render_counts()

    def _render_counts(self) -> None:
        counts = b',"viewers":%d,"viewers_now":%d,"likes":%d,"version":%d' % (
            self.viewers, self.viewers_now, self.likes, self.version)
        self.json = b"".join((self.json[:self.fixed_len], counts, self.json[self.urls_at:]))
        self.urls_at = self.fixed_len + len(counts)

    def set_play_urls(self, urls: bytes, period: int) -> None:
        self.json = b"".join((self.json[:self.urls_at], b',"play_urls":', urls))
        self.period = period

    def room(self) -> Room:
        counts = b',"viewers":%d,"likes":%d,"version":%d}' % (self.viewers, self.likes, self.version)
        return Room.model_validate_json(self.json[:self.fixed_len] + counts)


def listed(room: Room) -> bool:
    """An active room is listed while its push is on air (not `interrupted`)."""
    return room.stream_state is not LiveState.INTERRUPTED
