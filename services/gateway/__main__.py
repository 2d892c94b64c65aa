"""`python -m services.gateway`: the HTTP gateway process (the API, the media server's hooks on
their own port, and the ops port)."""

from collections.abc import AsyncIterator

import uvloop
from aiohttp import web

from services.gateway.bootstrap import READINESS, create_app, create_hooks_app
from shared import metrics
from shared.logging import configure_logging
from shared.ops import port_check, serving_ops
from shared.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_format, settings.log_level)
    app = create_app(settings)

    async def ops_port(app: web.Application) -> AsyncIterator[None]:
        # /metrics on a port of its own: the public port (behind the Ingress) never exposes it.
        checks = dict(app[READINESS].checks)
        checks["api"] = port_check(settings.gateway_host, settings.gateway_port)
        if settings.hooks_port:
            checks["hooks"] = port_check(settings.gateway_host, settings.hooks_port)
        async with serving_ops(settings.ops_host, settings.ops_port, checks,
                              (metrics.HTTP, metrics.BUS, metrics.DIRECTORY)):
            yield

    async def hooks_port(app: web.Application) -> AsyncIterator[None]:
        runner = web.AppRunner(create_hooks_app(app), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.gateway_host, settings.hooks_port).start()
        yield
        await runner.cleanup()

    if settings.hooks_port:
        app.cleanup_ctx.append(hooks_port)
    app.cleanup_ctx.append(ops_port)
    web.run_app(app, host=settings.gateway_host, port=settings.gateway_port,
                access_log=None, shutdown_timeout=10, print=None, loop=uvloop.new_event_loop())


if __name__ == "__main__":
    main()
