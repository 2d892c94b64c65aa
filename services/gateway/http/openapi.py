"""The API's own description: OpenAPI 3.1 at `GET /v1/openapi.json`, and a readable page at
`GET /v1/docs`. Schemas come from the pydantic models the gateway validates requests with
(`requests.py`) and builds its answers and live-update events from (`answers.py`); only the list
of operations is written here. A unit test checks that it names every route the gateway serves,
and a fuzzing run (tests/integration/test_openapi.py) that every answer is as documented.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from services.gateway.http.answers import (
    LIVE_EVENTS,
    BanAccepted,
    CountAccepted,
    CreatedRoom,
    LiveEvent,
    ProblemDetails,
    ReplayList,
    ReplayView,
    RoomList,
    RoomView,
    Unbanned,
)
from services.gateway.http.follow_answers import (
    ME_EVENTS,
    AnchorRecord,
    AnchorView,
    CategoryList,
    Following,
    FollowingList,
)
from services.gateway.http.requests import (
    BanBody,
    CasesQuery,
    CreateRoomBody,
    FollowingQuery,
    LikeBody,
    ListQuery,
    ReplaysQuery,
    ResolveBody,
)
from services.gateway.http.serving import Route
from shared.contracts import Case, CasePage

# --- the operations ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    answer: tuple[int, type[BaseModel] | None]
    errors: tuple[int, ...] = (401,)
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    tags: tuple[str, ...] = ("rooms",)
    extra: dict[str, Any] = field(default_factory=dict)
    # OpenAPI links from the answer to other operations: name -> (method, path, {parameter: expression}),
    # so a client (or a stateful fuzzer) can follow a created room into its other routes.
    links: dict[str, tuple[str, str, dict[str, str]]] = field(default_factory=dict)
    events: tuple[type[LiveEvent], ...] = ()  # an event stream's events (`x-events`)


_ROOM_ID = {"room_id": "$response.body#/room/id"}
_ROOM_LINKS = {"GetRoom": ("get", "/v1/rooms/{room_id}", _ROOM_ID),
               "ActivateRoom": ("post", "/v1/rooms/{room_id}/activate", _ROOM_ID),
               "CloseRoom": ("post", "/v1/rooms/{room_id}/close", _ROOM_ID),
               "EnterRoom": ("post", "/v1/rooms/{room_id}/viewers", _ROOM_ID),
               "LikeRoom": ("post", "/v1/rooms/{room_id}/likes", _ROOM_ID)}


_ROOM = (400, 401, 404)
OPERATIONS = [
    Operation("post", "/v1/rooms", "Create a room (unactive) and get its signed push URL", (201, CreatedRoom),
              (401, 409, 413, 415, 422, 429, 503, 504), body=CreateRoomBody, links=_ROOM_LINKS),
    Operation("get", "/v1/rooms", "Live rooms: newest, hot or near, keyset-paged", (200, RoomList),
              (400, 401, 422, 503), query=ListQuery),
    Operation("get", "/v1/rooms/{room_id}", "One room", (200, RoomView), (*_ROOM, 429, 503, 504)),
    Operation("post", "/v1/rooms/{room_id}/activate", "The push began (SDK event 1002): go live",
              (200, RoomView), (*_ROOM, 403, 409, 429, 503, 504)),
    Operation("post", "/v1/rooms/{room_id}/close", "End the show", (200, RoomView),
              (*_ROOM, 403, 409, 429, 503, 504)),
    Operation("post", "/v1/rooms/{room_id}/viewers", "A viewer entered", (202, CountAccepted),
              (*_ROOM, 409, 422, 429, 503, 504), tags=("viewers",)),
    Operation("post", "/v1/rooms/{room_id}/likes", "Likes the app batched (1-50)", (202, CountAccepted),
              (*_ROOM, 409, 413, 415, 422, 429, 503, 504), body=LikeBody, tags=("viewers",)),
    Operation("post", "/v1/admin/rooms/{room_id}/ban", "Ban a room (moderators)", (202, BanAccepted),
              (*_ROOM, 403, 413, 415, 422, 429, 503, 504), body=BanBody, tags=("moderation",)),
    Operation("get", "/v1/admin/cases", "Content-detection cases (moderators)", (200, CasePage),
              (401, 403, 422, 429, 503, 504), query=CasesQuery, tags=("moderation",),
              links={"ResolveCase": ("post", "/v1/admin/cases/{case_id}/resolve",
                                     {"case_id": "$response.body#/cases/0/id"})}),
    Operation("post", "/v1/admin/cases/{case_id}/resolve", "Ban or dismiss a case (moderators)", (200, Case),
              (*_ROOM, 403, 409, 413, 415, 422, 429, 503, 504), body=ResolveBody, tags=("moderation",)),
    Operation("post", "/v1/admin/rooms/{room_id}/close", "Close a room without a ban (moderators)", (200, RoomView),
              (*_ROOM, 403, 429, 503, 504), tags=("moderation",)),
    Operation("get", "/v1/admin/anchors/{anchor_id}", "An anchor's record: followers, rooms, bans (moderators)",
              (200, AnchorRecord), (*_ROOM, 403, 429, 503, 504), tags=("moderation",)),
    Operation("post", "/v1/admin/anchors/{anchor_id}/unban", "Lift an anchor's ban (moderators)", (200, Unbanned),
              (*_ROOM, 403, 429, 503, 504), tags=("moderation",)),
    Operation("get", "/v1/anchors/{anchor_id}/replays", "An anchor's replays, newest first, keyset-paged",
              (200, ReplayList), (*_ROOM, 422, 429, 503, 504), query=ReplaysQuery, tags=("replays",)),
    Operation("delete", "/v1/replays/{replay_id}", "Delete one of your replays (its file goes too)", (204, None),
              (*_ROOM, 403, 429, 503, 504), tags=("replays",)),
    Operation("post", "/v1/admin/replays/{replay_id}/hide", "Hide a replay from everyone but moderators",
              (200, ReplayView), (*_ROOM, 403, 429, 503, 504), tags=("moderation", "replays")),
    Operation("post", "/v1/admin/replays/{replay_id}/show", "Show a hidden replay again (moderators)",
              (200, ReplayView), (*_ROOM, 403, 429, 503, 504), tags=("moderation", "replays")),
    Operation("put", "/v1/me/following/{anchor_id}", "Follow an anchor (idempotent)", (200, Following),
              (*_ROOM, 409, 422, 429, 503, 504), tags=("follows",)),
    Operation("delete", "/v1/me/following/{anchor_id}", "Unfollow an anchor (idempotent)", (200, Following),
              (*_ROOM, 422, 429, 503, 504), tags=("follows",)),
    Operation("get", "/v1/me/following", "The anchors you follow, with their live rooms", (200, FollowingList),
              (400, 401, 422, 429, 503, 504), query=FollowingQuery, tags=("follows",)),
    Operation("get", "/v1/anchors/{anchor_id}", "An anchor: followers, live room, banned or not", (200, AnchorView),
              (*_ROOM, 429, 503, 504), tags=("follows",)),
    Operation("get", "/v1/categories", "The room categories, with their live counts", (200, CategoryList),
              (401,), tags=("rooms",)),
]
# Described, not fuzzed: a stream that stays open (tests/integration/test_openapi.py leaves it out).
LIVE_UPDATES = Operation("get", "/v1/rooms/{room_id}/events", "Live counts (Server-Sent Events)", (200, None),
                         (*_ROOM, 429), tags=("viewers",),
                         extra={"description": "`text/event-stream`: `counters`; `interrupted` when the "
                                               "anchor's push stops and `resumed` when it is back; then `closed` "
                                               "or `expired`. "
                                               "`?access_token=` is accepted here (EventSource sends no headers)."},
                         events=LIVE_EVENTS)
ME_EVENTS_STREAM = Operation("get", "/v1/me/events", "Your alerts (Server-Sent Events)", (200, None), (401, 429),
                             tags=("follows",), events=ME_EVENTS,
                             extra={"description": "`text/event-stream`: `followed_live` when an anchor you follow "
                                                   "goes live (once per room), `expired` at the token's expiry. "
                                                   "`?access_token=` is accepted here."})
STREAMS = [LIVE_UPDATES, ME_EVENTS_STREAM]  # described, not fuzzed (they stay open)


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent, never null: `anyOf [X, null]` is X."""
    options = [o for o in schema.get("anyOf", []) if o != {"type": "null"}]
    if len(options) == 1:
        rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
        return {**options[0], **rest}
    return schema


def _parameters(operation: Operation, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    params = [{"name": name[1:-1], "in": "path", "required": True,
               "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"}}
              for name in operation.path.split("/") if name.startswith("{")]
    if operation.query is not None:
        schema = schemas[operation.query.__name__]
        params += [{"name": name, "in": "query", "required": name in schema.get("required", []),
                    "schema": _not_null(prop)} for name, prop in schema["properties"].items()]
    return params


def _operation_ref(method: str, path: str) -> str:
    """A JSON pointer to an operation of this document (`/` escaped as `~1`)."""
    return f"#/paths/{path.replace('~', '~0').replace('/', '~1')}/{method}"


def build_document() -> dict[str, Any]:
    models: list[type[BaseModel]] = [op.answer[1] for op in OPERATIONS if op.answer[1]]
    models += [op.body for op in OPERATIONS if op.body] + [ProblemDetails]
    models += [event for op in STREAMS for event in op.events]
    queries = [op.query for op in OPERATIONS if op.query]
    _, top = models_json_schema([(m, "serialization") for m in dict.fromkeys(models)]
                                + [(q, "validation") for q in queries],
                                ref_template="#/components/schemas/{model}")
    schemas = top.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for op in [*OPERATIONS, *STREAMS]:
        status, answer = op.answer
        content: dict[str, dict[str, Any]] = (
            {"application/json": {"schema": {"$ref": f"#/components/schemas/{answer.__name__}"}}}
            if answer else {"text/event-stream": {"schema": {"type": "string"}}})
        if answer is None:  # each event's `data` is the JSON of its schema
            content["text/event-stream"]["x-events"] = {
                event.EVENT: {"$ref": f"#/components/schemas/{event.__name__}"} for event in op.events}
        responses: dict[str, Any] = {str(status): {"description": "OK", "content": content}}
        if op.links:
            responses[str(status)]["links"] = {
                name: {"operationRef": _operation_ref(method, path), "parameters": parameters}
                for name, (method, path, parameters) in op.links.items()}
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
        errors = sorted({*op.errors, 400, 405} if op.body else {*op.errors, 405})  # malformed JSON; wrong method
        responses |= {str(code): {"description": "Problem", "content": problem} for code in errors}
        entry: dict[str, Any] = {"summary": op.summary, "tags": list(op.tags), "responses": responses,
                                 "parameters": _parameters(op, schemas), **op.extra}
        if op.body is not None:
            entry["requestBody"] = {"required": op.path.endswith(("/rooms", "/ban", "/resolve")), "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}}}
        paths.setdefault(op.path, {})[op.method] = entry
    for query in queries:
        del schemas[query.__name__]  # described as parameters, not as a schema
    return {
        "openapi": "3.1.0",
        "info": {"title": "Onair", "version": "1",
                 "description": "Room list of a free-broadcast live-streaming app. Errors are RFC 9457 problems."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


_DOCUMENT = json.dumps(build_document(), indent=1).encode()


async def openapi_document(_: web.Request) -> web.Response:
    return web.Response(body=_DOCUMENT, content_type="application/json")


async def docs_page(_: web.Request) -> web.Response:
    """A plain, dependency-free page: every operation, its parameters, body and answers."""
    rows = []
    for op in [*OPERATIONS, *STREAMS]:
        body = f"<br>body: <code>{op.body.__name__}</code>" if op.body else ""
        query = f"<br>query: <code>{', '.join(op.query.model_fields)}</code>" if op.query else ""
        answer = op.answer[1].__name__ if op.answer[1] else "event stream"
        rows.append(f"<tr><td><b>{op.method.upper()}</b> <code>{html.escape(op.path)}</code></td>"
                    f"<td>{html.escape(op.summary)}{query}{body}</td><td>{op.answer[0]} {answer}; "
                    f"{', '.join(map(str, op.errors))} problem</td></tr>")
    page = ("<!doctype html><meta charset=utf-8><title>Onair API</title><h1>Onair API v1</h1>"
            "<p>Machine-readable: <a href=/v1/openapi.json>/v1/openapi.json</a> (OpenAPI 3.1). Every request "
            "needs <code>Authorization: Bearer &lt;JWT&gt;</code>.</p><table border=1 cellpadding=4>"
            + "".join(rows) + "</table>")
    return web.Response(text=page, content_type="text/html")


def document_routes() -> list[Route]:
    return [Route("GET", "/v1/openapi.json", openapi_document), Route("GET", "/v1/docs", docs_page)]
