"""`python -m services.rooms`: the rooms service process."""

from services.rooms.bootstrap import running_rooms_service
from shared import metrics
from shared.logging import configure_logging
from shared.ops import bus_check, serving_ops, store_check
from shared.runtime import run_service, serve_forever
from shared.settings import RoomsSettings


async def main() -> None:
    settings = RoomsSettings()
    configure_logging("rooms", settings.log_format, settings.log_level)
    async with running_rooms_service(settings) as service, serving_ops(
        settings.ops_host, settings.ops_port,
        {"bus": bus_check(service.bus), "store": store_check(service.rooms.database)},
        (metrics.BUS, metrics.ROOMS_GROUP),
    ):
        await serve_forever()


if __name__ == "__main__":
    run_service(main)
