"""`python -m services.gateway`: the HTTP gateway process."""

import uvloop
from aiohttp import web

from services.gateway.app import create_app
from shared.logging import configure_logging
from shared.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_format, settings.log_level)
    web.run_app(create_app(settings), host=settings.gateway_host, port=settings.gateway_port,
                access_log=None, shutdown_timeout=10, print=None, loop=uvloop.new_event_loop())


if __name__ == "__main__":
    main()
