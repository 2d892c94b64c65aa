"""The envelope every message travels in, and its bytes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.base import MESSAGE_TYPES, Contract
from shared.failures import Permanent

SCHEMA_VERSION: Literal[1] = 1


class Envelope(BaseModel):
    """What actually travels: identity, type and time around a typed payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, description="Unique message id; idempotency key")
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None
    schema_version: Literal[1] = SCHEMA_VERSION
    payload: dict[str, Any]


class InvalidMessage(Permanent, ValueError):
    """A message that can never be handled: bad JSON, unknown type, invalid payload."""


def wrap(payload: Contract, *, correlation_id: str | None = None, message_id: str | None = None) -> Envelope:
    fields: dict[str, Any] = {
        "type": payload.TYPE,
        "payload": payload.model_dump(mode="json"),
        "correlation_id": correlation_id,
    }
    if message_id is not None:
        fields["id"] = message_id
    return Envelope(**fields)


def encode(envelope: Envelope) -> bytes:
    return envelope.model_dump_json().encode()


def decode(body: bytes) -> tuple[Envelope, Contract]:
    """Parse bytes into the envelope and its typed payload, or raise InvalidMessage."""
    try:
        envelope = Envelope.model_validate_json(body)
    except ValueError as exc:
        raise InvalidMessage(f"bad envelope: {exc}") from exc
    model = MESSAGE_TYPES.get(envelope.type)
    if model is None:
        raise InvalidMessage(f"unknown message type {envelope.type!r}")
    try:
        return envelope, model.model_validate(envelope.payload)
    except ValueError as exc:
        raise InvalidMessage(f"invalid {envelope.type} payload: {exc}") from exc
