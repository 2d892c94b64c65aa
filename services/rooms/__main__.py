"""`python -m services.rooms`: the rooms service process."""

from services.rooms.bootstrap import running_rooms_service
from shared.logging import configure_logging
from shared.runtime import run_service, wait_for_stop_signal
from shared.settings import RoomsSettings


async def main() -> None:
    settings = RoomsSettings()
    configure_logging("rooms", settings.log_format, settings.log_level)
    async with running_rooms_service(settings):
        await wait_for_stop_signal()


if __name__ == "__main__":
    run_service(main)
