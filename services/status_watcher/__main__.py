"""`python -m services.status_watcher`: closes black-screen rooms."""

from services.status_watcher.bootstrap import run_status_watcher
from shared.logging import configure_logging
from shared.runtime import run_service
from shared.settings import WatcherSettings


async def main() -> None:
    settings = WatcherSettings()
    configure_logging("status_watcher", settings.log_format, settings.log_level)
    await run_status_watcher(settings)


if __name__ == "__main__":
    run_service(main)
