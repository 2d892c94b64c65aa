"""The moderation console's files, served by the gateway at `/console/` (no server-side
sessions: the page calls the same `/v1/admin/...` routes with the moderator's token).

The gateway serves them because the console is the API's own client and needs nothing else: one
origin (no CORS, a strict `connect-src 'self'` for the API), one deployment, one Ingress path.
Its files are read once at start. They are served under `/console/v/{version}/` where `version`
is a hash of all of them: cached for a year (`immutable`), and a new release is a new path that
no cache holds. `index.html` itself is `no-cache` and carries the Content-Security-Policy: scripts
and styles from this origin only (no inline script, no eval); pictures and HLS from anywhere the
API's URLs point (covers, thumbnails, the media server).
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from aiohttp import web

from services.gateway.http.problems import not_found
from services.gateway.http.serving import Route

HERE = Path(__file__).parent
STATIC = HERE / "static"
# Third-party code stays out of the package's tree: `make install` runs `npm ci --prefix web`
# (the lockfile is web/package-lock.json); the image sets ONAIR_CONSOLE_PLAYER.
PLAYER = HERE.parents[2] / "web" / "node_modules" / "hls.js" / "dist" / "hls.min.js"

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' http: https: data:; "
       "media-src 'self' blob: http: https:; connect-src 'self' http: https:; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}
ASSET_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}


class ConsoleFiles:
    def __init__(self, static: Path = STATIC, player: Path = PLAYER) -> None:
        """Without the player file the page still works where browsers play HLS themselves (Safari)."""
        self.files: dict[str, bytes] = {path.name: path.read_bytes() for path in sorted(static.iterdir())
                                        if path.is_file() and path.name != "index.html"}
        if player.is_file():
            self.files["hls.min.js"] = player.read_bytes()
        digest = hashlib.sha256()
        for name, body in self.files.items():
            digest.update(name.encode() + b"\0" + body)
        self.version = digest.hexdigest()[:12]
        self.page = (static / "index.html").read_text().replace("{{assets}}", f"/console/v/{self.version}").encode()

    def routes(self) -> list[Route]:
        return [Route("GET", "/console", self.to_page, quiet=True),
                Route("GET", "/console/", self.index, quiet=True),
                Route("GET", "/console/v/{version}/{name}", self.asset, quiet=True)]

    async def to_page(self, request: web.Request) -> web.Response:
        return web.Response(status=308, headers={"Location": "/console/"})

    async def index(self, request: web.Request) -> web.Response:
        return web.Response(body=self.page, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)

    async def asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = self.files.get(name)
        if body is None or request.match_info["version"] != self.version:
            raise not_found("console file (reload the console: it was updated)")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return web.Response(body=body, content_type=content_type, headers=ASSET_HEADERS)
