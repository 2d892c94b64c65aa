"""The bus's publishing side, recording what was published (envelopes, as they would travel)."""

from __future__ import annotations

from shared.contracts import Contract, Envelope, wrap
from shared.errors import BusUnavailable


class RecordingPublisher:
    """`refuse` makes every publish fail as a broker that does not confirm would."""

    refuse = False

    def __init__(self) -> None:
        self.events: list[Envelope] = []
        self.commands: list[Envelope] = []

    async def publish_event(self, payload: Contract, *, correlation_id: str | None = None,
                            message_id: str | None = None) -> Envelope:
        if self.refuse:
            raise BusUnavailable("no confirm")
        self.events.append(wrap(payload, correlation_id=correlation_id, message_id=message_id))
        return self.events[-1]

    async def publish_command(self, payload: Contract, *, correlation_id: str | None = None,
                              message_id: str | None = None) -> Envelope:
        self.commands.append(wrap(payload, correlation_id=correlation_id, message_id=message_id))
        return self.commands[-1]
