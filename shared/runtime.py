"""Running a service process: signal handling and a clean shutdown."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any


async def wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_until_stopped(work: Awaitable[None]) -> None:
    """Run `work` until SIGINT/SIGTERM; a crash of `work` ends the process with its error."""
    task = asyncio.ensure_future(work)
    stop = asyncio.create_task(wait_for_stop_signal())
    done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    for pending in (task, stop):
        pending.cancel()
    await asyncio.gather(task, stop, return_exceptions=True)
    if task in done:
        task.result()


def run_service(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


async def run_connected_idle(service: str) -> None:
    """A service whose duties are not wired yet: it connects to the bus, logs, and waits."""
    import structlog

    from shared.bus import Bus
    from shared.logging import configure_logging
    from shared.settings import CommonSettings

    settings = CommonSettings()
    configure_logging(service, settings.log_format, settings.log_level)
    bus = Bus(settings.amqp_url, namespace=settings.bus_namespace)
    await bus.connect()
    structlog.get_logger(service).info(f"{service}.started", note="connected; no duties wired yet")
    try:
        await wait_for_stop_signal()
    finally:
        await bus.close()
