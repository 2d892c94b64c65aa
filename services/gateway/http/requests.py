"""What the gateway takes: request bodies and queries, and the strict parsing that turns bad input
into 400 / 415 / 422."""

from __future__ import annotations

import enum
import functools
import json
from typing import Annotated, Any, Self, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    UrlConstraints,
    ValidationError,
    model_validator,
)

from services.gateway.http.problems import Problem, validation_failed
from shared.contracts import CaseAction, CaseStatus, Location

Body = TypeVar("Body", bound=BaseModel)


def _whole_number(value: Any) -> Any:
    """JSON has one number type: `21.0` is the integer 21 (JSON Schema says so too). A boolean or
    a string is not a number, and a fraction is not an integer (both refused by the strict int)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number), Field(strict=True)]


class CreateRoomBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    cover_url: Annotated[HttpUrl, UrlConstraints(max_length=2048), Field(description="http(s) URL of the cover image")]
    location: Location | None = None
    category: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        None, description="One of `GET /v1/categories`")


class LikeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    count: WholeNumber = Field(1, ge=1, le=50, description="Likes the app batched locally")


class ListSort(enum.StrEnum):
    NEW = "new"  # newest activation first
    HOT = "hot"  # popularity now (viewers, decaying likes)
    NEAR = "near"  # nearest to lat/lng (rounded to 0.01°) first; rooms without a location are left out


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # an unknown parameter is a mistake: 422

    sort: ListSort = ListSort.NEW
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    lng: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    limit: int = Field(20, ge=1, le=50)
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    following: bool = Field(False, description="The Following tab: rooms of the anchors the viewer follows "
                            "(sort new or hot)")
    category: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        None, description="Only rooms of this category (`GET /v1/categories`)")

    @model_validator(mode="after")
    def _coordinates_for_near(self) -> Self:
        if self.sort is ListSort.NEAR and (self.lat is None or self.lng is None):
            raise ValueError("sort=near needs both lat and lng")
        if self.sort is ListSort.NEAR and self.following:
            raise ValueError("the Following tab is sorted new or hot")
        return self


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"], "code": err["type"]}
        for err in exc.errors()
    ]


async def read_json(request: web.Request) -> Any:
    """The body as JSON, or a 400 problem: malformed, or nested deeper than the parser goes.
    (aiohttp bounds its size: 413.)"""
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "malformed-json", "Malformed JSON", f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise Problem(400, "malformed-json", "Malformed JSON", "the body is nested too deeply") from exc


async def parse_json_body(request: web.Request, model: type[Body]) -> Body:
    if request.content_type != "application/json":
        raise Problem(415, "unsupported-media-type", "Unsupported media type",
                      f"expected application/json, got {request.content_type or 'nothing'}")
    data = await read_json(request)
    if not isinstance(data, dict):  # well-formed JSON of the wrong shape: a validation error
        raise validation_failed([{"field": "(body)", "message": "the body must be a JSON object",
                                  "code": "object_type"}])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(field_errors(exc)) from exc


@functools.lru_cache(maxsize=4096)
def _list_query(query_string: str) -> ListQuery:
    return ListQuery.model_validate(dict(parse_qsl(query_string, keep_blank_values=True)))


def parse_list_query(request: web.Request) -> ListQuery:
    """The room list's parameters. The list is the hottest call and its parameters repeat (the
    first page of each order), so parsed queries are kept by their raw string (as sent: `parse_qsl`
    decodes it, once); a bad one raises every time (exceptions are not cached)."""
    try:
        return _list_query(request.rel_url.raw_query_string)
    except ValidationError as exc:
        raise validation_failed(field_errors(exc)) from exc


def parse_query(request: web.Request, model: type[Body]) -> Body:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise validation_failed(field_errors(exc)) from exc


class BanBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    duration_hours: WholeNumber = Field(168, ge=1, le=2160, description="Tencent forbids for at most 90 days")


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: CaseAction
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] | None = None
    duration_hours: WholeNumber = Field(168, ge=1, le=2160)


class CasesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: CaseStatus | None = None
    limit: int = Field(50, ge=1, le=100)


class FollowingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(50, ge=1, le=100)
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None


class ReplaysQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(20, ge=1, le=100)
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None


def check_category(category: str | None, allowed: tuple[str, ...], *, field: str = "category") -> None:
    """422 for a category that is not configured (`ONAIR_CATEGORIES`)."""
    if category is not None and category not in allowed:
        raise validation_failed([{"field": field, "message": f"one of {', '.join(allowed)}", "code": "enum"}])
