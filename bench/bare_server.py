"""The ceiling for the room list: a bare aiohttp handler that returns fixed bytes, run the way the
gateway runs (uvloop, no access log). `python bench/bare_server.py PORT FILE`; `PUT /body` with
new bytes changes what it returns, so one process serves each order's page in turn."""

from __future__ import annotations

import sys
from pathlib import Path

import uvloop
from aiohttp import web


def main() -> None:
    port, body = int(sys.argv[1]), Path(sys.argv[2]).read_bytes()
    current = {"body": body}

    async def page(_: web.Request) -> web.Response:
        return web.Response(body=current["body"], content_type="application/json")

    async def replace(request: web.Request) -> web.Response:
        current["body"] = await request.read()
        return web.Response(text="ok")

    app = web.Application(client_max_size=1 << 22)
    app.router.add_get("/v1/rooms", page)
    app.router.add_put("/body", replace)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=uvloop.new_event_loop())


if __name__ == "__main__":
    main()
