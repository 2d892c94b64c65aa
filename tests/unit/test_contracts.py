import pytest
from pydantic import ValidationError

from shared.contracts import CreateRoom, Envelope, GetRoom, InvalidMessage, decode, encode, wrap


def test_envelope_round_trip() -> None:
    envelope = wrap(GetRoom(room_id="r1"), correlation_id="req-1")
    decoded, payload = decode(encode(envelope))
    assert decoded == envelope
    assert payload == GetRoom(room_id="r1")
    assert decoded.schema_version == 1 and decoded.type == "rooms.get"


@pytest.mark.parametrize("body", [
    b"not json",
    b'{"type": "rooms.get"}',
    encode(Envelope(type="rooms.nope", payload={})),
    encode(Envelope(type="rooms.get", payload={"room_id": "r1", "extra": 1})),
    encode(Envelope(type="rooms.create", payload={"anchor_id": "a", "title": "", "cover_url": "x"})),
    b'{"type": "rooms.get", "payload": {"room_id": "r"}, "schema_version": 2}',
])
def test_invalid_messages_are_refused(body: bytes) -> None:
    with pytest.raises(InvalidMessage):
        decode(body)


def test_contracts_are_frozen() -> None:
    cmd = CreateRoom(anchor_id="a", title="t", cover_url="https://x/c.jpg")
    with pytest.raises(ValidationError):
        cmd.title = "changed"  # type: ignore[misc]
