"""What every message is: a frozen, strict model with a `TYPE`, registered by defining it.

`TYPE` is the envelope type and the routing key (commands on the commands exchange, events on
the events topic exchange). A `Request[R]` may be asked and is answered with an `R`; a
`Query[R]` is a request that changes nothing.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

# Every message type by its TYPE, filled as the classes are defined (see `Contract`).
MESSAGE_TYPES: dict[str, type[Contract]] = {}

R = TypeVar("R", bound="Contract")


class Contract(BaseModel):
    """Base of every payload: frozen, strict about unknown fields. A subclass that defines
    `TYPE` is a message and registers itself for decoding."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TYPE: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        message_type = cls.__dict__.get("TYPE")
        if message_type is None:
            return
        known = MESSAGE_TYPES.setdefault(message_type, cls)
        if known is not cls:
            raise TypeError(f"{cls.__name__} and {known.__name__} both claim the type {message_type!r}")


class Request(Contract, Generic[R]):
    """A message that may be asked (`Bus.ask`): its answer is an `R`, named in the class's base
    (`class CreateRoom(Request[Room])`) and kept at run time in `REPLY`."""

    REPLY: ClassVar[type[Contract]]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for base in cls.__mro__:
            metadata = base.__dict__.get("__pydantic_generic_metadata__")
            if metadata and metadata["args"] and isinstance(metadata["args"][0], type):
                cls.REPLY = metadata["args"][0]
                return


class Query(Request[R], Generic[R]):
    """A read that changes nothing. Queries travel apart from commands: non-persistent, on a queue
    of their own, never dead-lettered, expiring with the request (a late answer has no reader)."""


class ErrorCode(enum.StrEnum):
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"  # the answering service could not reach its store: retry later


class ReplyError(Contract):
    code: ErrorCode
    detail: str
    extra: dict[str, Any] = Field(default_factory=dict, description="Machine-readable details")


class Reply(Contract):
    """The answer to a request: exactly one of `result` and `error`."""

    TYPE: ClassVar[str] = "reply"
    ok: bool
    result: dict[str, Any] | None = None
    error: ReplyError | None = None
