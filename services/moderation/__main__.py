"""`python -m services.moderation`: bans and content-detection reports."""

from services.moderation.bootstrap import running_moderation_service
from shared import metrics
from shared.logging import configure_logging
from shared.ops import bus_check, serving_ops, store_check
from shared.runtime import run_service, serve_forever
from shared.settings import ModerationSettings


async def main() -> None:
    settings = ModerationSettings()
    configure_logging("moderation", settings.log_format, settings.log_level)
    async with running_moderation_service(settings) as service, serving_ops(
        settings.ops_host, settings.ops_port,
        {"bus": bus_check(service.bus), "store": store_check(service.repo.database)},
        (metrics.BUS, metrics.CLOUD),
    ):
        await serve_forever()


if __name__ == "__main__":
    run_service(main)
