"""List cursors: one per order, each the position after the last room of a page.

- `new`:  (activated_at in ms, room id): keyset on the order itself.
- `hot`:  (ranking id, position): the ranking the first page was cut from, pinned.
- `near`: (lat, lng, km, room id): keyset on (distance, id) from the same point.
- replays: (started_at in ms, replay id): keyset on an anchor's replays, newest first.
- following: (anchor id): keyset on the anchors a viewer follows.

Two kinds, by what a made-up cursor could do:

- **Plain**, for the list's `new` and `hot` orders: `n.<activated ms>.<room id>` and
  `h.<ranking id>.<position>`. Any value a client could write names a point in an order, and a page
  from any point exists and costs no more than a real one; so a MAC bought them nothing, and on a
  served Following page it cost about 9% (its hash code and state cold after the request around
  it; measured with two gateways under the same load). A `hot` ranking is held only by the process
  that cut it (another's is `CursorExpired`); a `new` point is the same on every replica.
- **Signed**, for the rest (`near` above all: a distance of `Infinity` once made the search walk
  every located room): the fields as compact JSON, then a MAC (HMAC-SHA256 with a key every
  replica derives from the JWT secret, truncated to 128 bits), both base64url. A made-up or edited
  one is a 400 before it is parsed. `new` cursors were signed before, and still are when a room
  id is not plain ASCII letters and digits; signed ones of any version are still taken.

Either way the fields are checked to the ranges a real cursor holds, and a cursor of one order is
refused by another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import json
import math
import re
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple, Protocol, cast

from shared.contracts import ErrorCode
from shared.errors import DomainError

MAX_MS = 2**53  # activated_at in ms: any real time is far below
MAX_KM = 20_040.0  # half the Earth's circumference: no two points are further apart
MAX_POSITION = 10_000_000  # rankings hold every live room, far fewer than this


class NewCursor(NamedTuple):
    activated_ms: int
    room_id: str


class HotCursor(NamedTuple):
    ranking: str
    position: int


class NearCursor(NamedTuple):
    lat: float
    lng: float
    km: float
    room_id: str


class ReplayCursor(NamedTuple):
    """An anchor's replays, newest first: keyset on (started_at in ms, replay id)."""

    started_ms: int
    replay_id: str


class FollowingCursor(NamedTuple):
    """The anchors a viewer follows, by anchor id: keyset on the id."""

    anchor_id: str


Cursor = NewCursor | HotCursor | NearCursor | ReplayCursor | FollowingCursor
_TAGS: dict[type[Any], str] = {NewCursor: "n", NearCursor: "g", ReplayCursor: "r",
                               FollowingCursor: "f"}
_TYPES = {tag: kind for kind, tag in _TAGS.items()}
_FIELD_TYPES: dict[str, tuple[type, ...]] = {"n": (int, str), "g": (float, float, float, str),
                                             "r": (int, str), "f": (str,)}
_MAC_BYTES = 16
# Plain cursors, whole (ASCII digits only: `int` takes others): `hot.Rankings` makes ranking ids
# of a process prefix and a count; room ids are message ids (32 hex digits).
_PLAIN_ROOM_ID = 128  # characters: a longer id (none is) gets a signed cursor, as it always did
_PLAIN = {"h": (HotCursor, re.compile(r"h\.([0-9a-f]{1,32}-[0-9]{1,12})\.([0-9]{1,8})")),
          "n": (NewCursor, re.compile(rf"n\.([0-9]{{1,16}})\.([A-Za-z0-9]{{1,{_PLAIN_ROOM_ID}}})"))}


def _payload(cursor: Cursor) -> bytes:
    """`[tag, *fields]` as compact JSON, spelled here (json.dumps builds an encoder per call, which
    was most of a cursor's cost): strings escaped by json's own function, numbers as `repr` writes
    them, which is JSON for ints and finite floats (every real cursor's)."""
    fields = [encode_basestring_ascii(_TAGS[type(cursor)]), *map(_json_value, cursor)]
    return ("[" + ",".join(fields) + "]").encode()


def _json_value(value: object) -> str:
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)  # as json writes it (`Infinity`): refused on decode, by its range
    return repr(value)


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(raw: bytes) -> bytes:
    """base64url without padding (binascii directly: `base64`'s wrappers cost more than the work)."""
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def malformed() -> DomainError:
    return DomainError(ErrorCode.INVALID, "malformed cursor", field="cursor")


class _Hash(Protocol):
    def copy(self) -> _Hash: ...
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...


def _plain_sha256() -> Callable[[bytes], _Hash]:
    """CPython's own SHA-256 (`_sha256` in 3.11, `_sha2` from 3.12), else OpenSSL's. The MAC is the
    same; the cost is not: copying an OpenSSL 3 hash context allocates and goes through its
    provider, and on a served page (caches cold from the request around it) that took 30-40 µs
    of a Following page's ~200 (measured with `wrk`; a copy of CPython's is a memcpy)."""
    for name in ("_sha256", "_sha2"):
        try:
            return cast(Callable[[bytes], _Hash], importlib.import_module(name).sha256)
        except (ImportError, AttributeError):
            continue
    return hashlib.sha256


_SHA256 = _plain_sha256()


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        # HMAC's inner and outer hashes with the key's pads already absorbed, copied per cursor:
        # the same MAC as hmac.digest, a fraction of its cost (every filtered page signs a cursor).
        block = key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest().ljust(64, b"\0")
        self._inner = _SHA256(bytes(b ^ 0x36 for b in block))
        self._outer = _SHA256(bytes(b ^ 0x5C for b in block))

    @classmethod
    def from_secret(cls, secret: str) -> CursorCodec:
        """The cursor key every replica derives from a secret they share (the JWT secret)."""
        return cls(hmac.new(secret.encode(), b"onair list cursors v1", hashlib.sha256).digest())

    def _mac(self, payload: bytes) -> bytes:
        inner, outer = self._inner.copy(), self._outer.copy()
        inner.update(payload)
        outer.update(inner.digest())
        return outer.digest()[:_MAC_BYTES]

    def after_new(self, activated_ms: int, room_id: str) -> str:
        """`encode(NewCursor(activated_ms, room_id))`, without making the tuple first: every
        `new` page that has a next one ends with this."""
        if room_id.isascii() and room_id.isalnum() and len(room_id) <= _PLAIN_ROOM_ID:  # as `_PLAIN` reads it
            return f"n.{activated_ms:d}.{room_id}"
        return self._signed(NewCursor(activated_ms, room_id))

    @staticmethod
    def at_hot(ranking: str, position: int) -> str:
        """`encode(HotCursor(ranking, position))`, without making the tuple first."""
        return f"h.{ranking}.{position:d}"

    def encode(self, cursor: Cursor) -> str:
        if type(cursor) is NewCursor:
            return self.after_new(cursor.activated_ms, cursor.room_id)
        if type(cursor) is HotCursor:
            return self.at_hot(cursor.ranking, cursor.position)
        return self._signed(cursor)

    def _signed(self, cursor: Cursor) -> str:
        payload = _payload(cursor)
        return b".".join((_b64(payload), _b64(self._mac(payload)))).decode()

    def decode(self, token: str, expected: type[Cursor]) -> Cursor:
        if token[1:2] == "." and token[:1] in _PLAIN:
            return _plain(token, expected)
        try:
            encoded_payload, encoded_mac = token.split(".")
            payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
        except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
            raise malformed() from exc
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise malformed()
        try:
            tag, *fields = json.loads(payload)
            kind, types = _TYPES[tag], _FIELD_TYPES[tag]
            if len(fields) != len(types) or not all(map(_is, fields, types)):
                raise ValueError("wrong cursor fields")
        except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            raise malformed() from exc
        if kind is not expected:
            raise DomainError(ErrorCode.INVALID, "this cursor belongs to another sort order", field="cursor")
        cursor: Cursor = kind(*fields)
        if not _in_range(cursor):
            raise malformed()
        return cursor


def _in_range(cursor: Cursor) -> bool:
    if isinstance(cursor, NewCursor):
        return 0 <= cursor.activated_ms <= MAX_MS
    if isinstance(cursor, ReplayCursor):
        return 0 <= cursor.started_ms <= MAX_MS
    if isinstance(cursor, FollowingCursor):
        return True
    if isinstance(cursor, HotCursor):
        return cursor.position <= MAX_POSITION
    return (all(math.isfinite(v) for v in (cursor.lat, cursor.lng, cursor.km))
            and -90 <= cursor.lat <= 90 and -180 <= cursor.lng <= 180 and 0 <= cursor.km <= MAX_KM)


def _plain(token: str, expected: type[Cursor]) -> Cursor:
    kind, form = _PLAIN[token[0]]
    if kind is not expected:
        raise DomainError(ErrorCode.INVALID, "this cursor belongs to another sort order", field="cursor")
    fields = form.fullmatch(token)
    if fields is None:
        raise malformed()
    first, second = fields.groups()
    cursor: Cursor = HotCursor(first, int(second)) if kind is HotCursor else NewCursor(int(first), second)
    if not _in_range(cursor):
        raise malformed()
    return cursor


def _is(value: object, want: type) -> bool:
    if want is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if want is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, want) and (want is not str or bool(value))
