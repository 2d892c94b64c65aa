"""Opaque list cursors: one per order, each the position after the last room of a page.

- `new`:  (activated_at in ms, room id): keyset on the order itself.
- `hot`:  (ranking id, position): the ranking the first page was cut from, pinned.
- `near`: (lat, lng, km, room id): keyset on (distance, id) from the same point.
A cursor of one order is refused by another, and any token that does not decode is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from shared.contracts import ErrorCode
from shared.errors import DomainError


@dataclass(frozen=True)
class NewCursor:
    activated_ms: int
    room_id: str


@dataclass(frozen=True)
class HotCursor:
    ranking: str
    position: int


@dataclass(frozen=True)
class NearCursor:
    lat: float
    lng: float
    km: float
    room_id: str


Cursor = NewCursor | HotCursor | NearCursor
_TAGS: dict[type[Any], str] = {NewCursor: "n", HotCursor: "h", NearCursor: "g"}
_TYPES = {tag: kind for kind, tag in _TAGS.items()}
_FIELD_TYPES: dict[str, tuple[type, ...]] = {"n": (int, str), "h": (str, int), "g": (float, float, float, str)}


_COMPACT = json.JSONEncoder(separators=(",", ":"))  # made once: json.dumps with options makes one a call


def encode_cursor(cursor: Cursor) -> str:
    fields = [_TAGS[type(cursor)], *cursor.__dict__.values()]
    raw = _COMPACT.encode(fields).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, expected: type[Cursor]) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode())
        tag, *fields = json.loads(raw)
        kind = _TYPES[tag]
        types = _FIELD_TYPES[tag]
        if len(fields) != len(types) or not all(_is(value, want) for value, want in zip(fields, types, strict=True)):
            raise ValueError("wrong cursor fields")
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError) as exc:
        raise DomainError(ErrorCode.INVALID, "malformed cursor", field="cursor") from exc
    if kind is not expected:
        raise DomainError(ErrorCode.INVALID, "this cursor belongs to another sort order", field="cursor")
    cursor: Cursor = kind(*fields)
    if isinstance(cursor, HotCursor) and cursor.position < 0:
        raise DomainError(ErrorCode.INVALID, "malformed cursor", field="cursor")
    return cursor


def _is(value: object, want: type) -> bool:
    if want is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if want is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, want) and (want is not str or bool(value))
