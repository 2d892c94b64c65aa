"""The ceiling for live updates: a bare aiohttp handler holding server-sent-event streams, run the
way the gateway runs (uvloop, no access log). `python bench/bare_sse.py PORT`. `GET /events`
opens a stream (a first event, then whatever is poked); `POST /poke` writes one event to every
open stream and answers once it is written to all."""

from __future__ import annotations

import asyncio
import sys

import uvloop
from aiohttp import web


def main() -> None:
    port = int(sys.argv[1])
    streams: set[web.StreamResponse] = set()
    event = b'event: counters\ndata: {"viewers":0,"viewers_now":0,"likes":%d}\n\n'

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        await response.write(event % 0)
        streams.add(response)
        try:
            await asyncio.Event().wait()  # until the client goes (the handler is cancelled)
        finally:
            streams.discard(response)
        return response

    async def poke(request: web.Request) -> web.Response:
        likes = int(request.query.get("likes", "1"))
        await asyncio.gather(*(stream.write(event % likes) for stream in list(streams)), return_exceptions=True)
        return web.Response(text=str(len(streams)))

    app = web.Application()
    app.router.add_get("/events", events)
    app.router.add_post("/poke", poke)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=uvloop.new_event_loop(),
                handler_cancellation=True)


if __name__ == "__main__":
    main()
