"""Running a service process: signals from the first instant, and a stop that never hangs.

Signal handlers are installed before the service does anything, so SIGINT or SIGTERM stop it in
every phase: starting, connecting to a broker or store that does not answer, running,
reconnecting. The service's coroutine is cancelled and given `STOP_SECONDS` to close what it
holds; past that the process exits anyway (a connect stuck in a thread, a driver that does not
answer cancellation), so an orchestrator's or `make run`'s stop is never left waiting and no
orphan keeps its ports."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
import uvloop

log = structlog.get_logger(__name__)

STOP_SECONDS = 2.0


async def serve_forever() -> None:
    """What a service's `main` awaits once it is up: it runs until the stop cancels it."""
    await asyncio.Event().wait()


async def _supervised(main: Callable[[], Coroutine[Any, Any, None]]) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    work = asyncio.create_task(main())
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if work in done:
        if work.exception() is not None:
            log.error("service.crashed", exc_info=work.exception())
            return 1
        return 0
    work.cancel()
    finished, _ = await asyncio.wait({work}, timeout=STOP_SECONDS)
    if not finished:
        log.warning("service.stop_forced", after_seconds=STOP_SECONDS)
    return 0


def run_service(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `main` until it ends or a stop signal arrives, then exit with its outcome. The loop
    is not asked to join its executor threads on the way out (a thread blocked in a connect would
    hold the exit): everything the service holds is closed by `main` itself."""
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    code = loop.run_until_complete(_supervised(main))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
