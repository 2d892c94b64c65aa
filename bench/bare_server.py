"""The ceiling for the room list: a bare aiohttp handler that returns fixed bytes, run the way the
gateway runs (uvloop, no access log). `python bench/bare_server.py PORT FILE`; `PUT /body` with
new bytes changes what it returns, so one process serves each order's page in turn. `PUT /pages`
with a JSON object {query string: page} makes it answer each of those queries with its own page
(the `near` list at 1,000 places: a thousand pages, as the gateway sends them, not one page
from the CPU's cache), anything else with the body."""

from __future__ import annotations

import sys
from pathlib import Path

import uvloop
from aiohttp import web


def main() -> None:
    port, body = int(sys.argv[1]), Path(sys.argv[2]).read_bytes()
    current = {"body": body}
    pages: dict[str, bytes] = {}

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=pages.get(request.query_string, current["body"]), content_type="application/json")

    async def replace(request: web.Request) -> web.Response:
        current["body"] = await request.read()
        pages.clear()
        return web.Response(text="ok")

    async def replace_pages(request: web.Request) -> web.Response:
        pages.clear()
        pages.update({query: text.encode() for query, text in (await request.json()).items()})
        return web.Response(text="ok")

    app = web.Application(client_max_size=1 << 26)
    app.router.add_get("/v1/rooms", page)
    app.router.add_put("/body", replace)
    app.router.add_put("/pages", replace_pages)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=uvloop.new_event_loop())


if __name__ == "__main__":
    main()
