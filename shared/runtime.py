"""Running a service process: signal handling and a clean shutdown."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import uvloop


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
        uvloop.run(main())
    except KeyboardInterrupt:
        pass
