"""The gateways' own context: what gateways tell each other."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from shared.contracts.base import Contract


class PresenceReport(Contract):
    """One gateway's open live-update streams per room (`viewers_now`): the rooms that changed
    since its last report, or all of them (`full`). Sent every couple of seconds even when nothing
    changed, so the others know it is alive; `hello` on its first, asking them for full reports."""

    TYPE: ClassVar[str] = "gateway.presence"
    instance: str = Field(min_length=1, max_length=64)
    rooms: dict[str, Annotated[int, Field(ge=0)]]
    full: bool = False
    hello: bool = False
