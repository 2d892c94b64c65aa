"""What recording and thumbnails cost the media server: the same pushes with them on and off.

    make bench-recording       # .venv/bin/python -m bench.recording --pushes 20 --seconds 30 --rounds 3

Each round starts a private nginx-rtmp (scripts/media_server.sh) twice, with
ONAIR_MEDIA_RECORDING=off and then on, pushes `--pushes` real streams (ffmpeg, 640x360 at 25 fps
with sound) for `--seconds`, stops them, waits for every recording to be remuxed and reported,
and reads the CPU time of the media server's processes and of everything they ran (the thumbnail
and record scripts, their ffmpeg) from /proc. The hooks answer from a stub that accepts every
push (the gateway is not what is measured). Prints the median CPU per push of each, and on/off.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from aiohttp import web

from tests.conftest import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of a process (its reaped children included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / TICKS


def family(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(grand for child in children for grand in family(int(child)))]


def encoder(url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
         "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", url],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class HookStub:
    """Accepts every push and counts the recordings reported."""

    def __init__(self) -> None:
        self.recorded = 0

    async def hook(self, request: web.Request) -> web.Response:
        if request.match_info["name"] == "record_done":
            self.recorded += 1
        return web.Response(text="ok")


async def one_run(stub: HookStub, hooks_url: str, *, recording: bool, pushes: int, seconds: float) -> float:
    """CPU seconds the media server spent on the pushes, per push."""
    rtmp, http = free_port(), free_port()
    with tempfile.TemporaryDirectory() as workdir:
        env = {**os.environ, "ONAIR_MEDIA_DIR": workdir, "ONAIR_RTMP_PORT": str(rtmp), "ONAIR_RTMP_BIND": "127.0.0.1",
               "ONAIR_MEDIA_HTTP_PORT": str(http), "ONAIR_HOOKS_URL": hooks_url,
               "ONAIR_MEDIA_RECORDING": "on" if recording else "off"}
        server = subprocess.Popen(["bash", str(REPO / "scripts/media_server.sh")], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await asyncio.to_thread(wait_for_port, http, 30, "nginx")
            before = sum(cpu_seconds(pid) for pid in family(server.pid))
            stub.recorded = 0
            encoders = [encoder(f"rtmp://127.0.0.1:{rtmp}/live/bench{i}?txSecret=x&txTime=0") for i in range(pushes)]
            await asyncio.sleep(seconds)
            for proc in encoders:
                proc.send_signal(signal.SIGINT)
            for proc in encoders:
                await asyncio.to_thread(proc.wait, 10)
            deadline = time.monotonic() + 60
            while recording and stub.recorded < pushes and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)  # the last scripts reaped
            spent = sum(cpu_seconds(pid) for pid in family(server.pid)) - before
            if recording and stub.recorded < pushes:
                print(f"  only {stub.recorded} of {pushes} recordings were reported")
            return spent / pushes
        finally:
            server.terminate()
            await asyncio.to_thread(server.wait, 10)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stub = HookStub()
    app = web.Application()
    app.router.add_route("*", "/v1/hooks/nginx-rtmp/{name}", stub.hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    off: list[float] = []
    on: list[float] = []
    try:
        for round_ in range(args.rounds):
            off.append(await one_run(stub, f"http://127.0.0.1:{port}", recording=False, pushes=args.pushes,
                                     seconds=args.seconds))
            on.append(await one_run(stub, f"http://127.0.0.1:{port}", recording=True, pushes=args.pushes,
                                     seconds=args.seconds))
            print(f"round {round_ + 1}: media server CPU per push over {args.seconds:.0f} s: "
                  f"{off[-1]:.2f} s without, {on[-1]:.2f} s with recording and thumbnails")
    finally:
        await runner.cleanup()
    base, cost = statistics.median(off), statistics.median(on)
    print(f"\n{args.pushes} pushes of {args.seconds:.0f} s, median of {args.rounds} rounds:")
    print(f"  without recording: {base:.2f} CPU s per push ({100 * base / args.seconds:.1f} % of a core each)")
    print(f"  with recording and thumbnails: {cost:.2f} CPU s per push ({100 * cost / args.seconds:.1f} % of a core "
          f"each), {cost / base:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
