"""`python -m services.moderation`: bans and content-detection reports."""

from services.moderation.bootstrap import running_moderation_service
from shared.logging import configure_logging
from shared.runtime import run_service, wait_for_stop_signal
from shared.settings import ModerationSettings


async def main() -> None:
    settings = ModerationSettings()
    configure_logging("moderation", settings.log_format, settings.log_level)
    async with running_moderation_service(settings):
        await wait_for_stop_signal()


if __name__ == "__main__":
    run_service(main)
