"""Open live-update streams on one gateway process: memory per stream, CPU at rest, and the time for
a count change to reach every stream, beside a bare aiohttp SSE server measured in the same run.

    ONAIR_WATCH_INTERVAL=86400 make run     # the bench's room has no real push: keep the watcher off
    make bench-streams                      # 10,000 streams; ARGS="--streams 2000" for a quick look

All streams watch one room (the widest fan-out). Memory: the server's RSS growth divided by the
streams. CPU at rest: the server's CPU time over `--rest` seconds with every stream open and
nothing happening (heartbeats, the reaper and presence reports are what remains). Fan-out: a like
is sent through the API and each stream notes when a `counters` event shows it; "spread" is from
the first stream to see it to the last (the fan-out itself), "after 202" includes the counter
pipeline (its half-second batch window). The bare server writes one event to all its streams
on `POST /poke`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import uvloop

from services.gateway.http.auth import mint_token
from shared.settings import GatewaySettings

REPO = Path(__file__).resolve().parents[1]


class Stream:
    """One raw SSE connection (lighter than a client library: the client must hold 10,000)."""

    def __init__(self) -> None:
        self.likes = -1
        self.seen: dict[int, float] = {}  # likes value -> when first seen
        self.task: asyncio.Task[None] | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self, host: str, port: int, path: str, token: str) -> None:
        reader, self.writer = await asyncio.open_connection(host, port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                          f"Accept: text/event-stream\r\n\r\n".encode())
        status = await reader.readline()
        if b" 200 " not in status:
            raise SystemExit(f"stream refused: {status!r} {await reader.read(300)!r}")
        while await reader.readline() not in (b"\r\n", b""):
            pass
        await self._until_event(reader)  # the first snapshot: the stream is live
        self.task = asyncio.create_task(self._read(reader))

    async def _until_event(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = await reader.readline()
            if not line:
                raise ConnectionError("stream closed")
            if b'"likes":' in line:
                self._note(line)
                return

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            if b'"likes":' in line:
                self._note(line)

    def _note(self, line: bytes) -> None:
        start = line.index(b"{")
        likes = json.loads(line[start:line.rindex(b"}") + 1])["likes"]
        if likes > self.likes:
            self.likes = likes
            self.seen.setdefault(likes, time.perf_counter())

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def open_streams(n: int, host: str, port: int, path: str, tokens: list[str]) -> list[Stream]:
    streams = [Stream() for _ in range(n)]
    for start in range(0, n, 100):  # 100 at a time: the listen backlog is 128
        await asyncio.gather(*(s.open(host, port, path, tokens[i]) for i, s in enumerate(streams[start:start + 100],
                                                                                        start)))
    return streams


async def fan_out(streams: list[Stream], likes: int, trigger: object) -> tuple[float, float, float, float]:
    """(after-202 p50, p99, max; first-to-last spread), in ms, for one change to `likes`."""
    sent = time.perf_counter()
    await trigger()  # type: ignore[operator]
    deadline = time.monotonic() + 30
    while any(likes not in s.seen for s in streams):
        if time.monotonic() > deadline:
            missing = sum(likes not in s.seen for s in streams)
            raise SystemExit(f"{missing} streams never saw likes={likes}")
        await asyncio.sleep(0.01)
    arrivals = sorted((s.seen[likes] - sent) * 1000 for s in streams)
    return (arrivals[len(arrivals) // 2], arrivals[int(len(arrivals) * 0.99) - 1], arrivals[-1],
            arrivals[-1] - arrivals[0])


async def measure(label: str, pid: int, host: str, port: int, path: str, tokens: list[str], args: argparse.Namespace,
                  change: object) -> list[str]:
    before = rss_bytes(pid)
    started = time.monotonic()
    streams = await open_streams(args.streams, host, port, path, tokens)
    opened_in = time.monotonic() - started
    await asyncio.sleep(2)
    per_stream = (rss_bytes(pid) - before) / len(streams)
    cpu_before = cpu_seconds(pid)
    await asyncio.sleep(args.rest)
    at_rest = (cpu_seconds(pid) - cpu_before) / args.rest * 100
    rounds = [await fan_out(streams, n, lambda n=n: change(n)) for n in range(1, args.rounds + 1)]  # type: ignore[operator]
    p50, p99, worst, spread = (statistics.median(r[i] for r in rounds) for i in range(4))
    for stream in streams:
        stream.close()
    return [f"| {label} | {len(streams):,} | {opened_in:.1f} s | {per_stream / 1024:.1f} KiB "
            f"| {rss_bytes(pid) / 2**20:,.0f} MiB | {at_rest:.1f}% | {p50:.0f} | {p99:.0f} | {worst:.0f} "
            f"| {spread:.0f} |"]


def gateway_pid(port: int) -> int:
    found = subprocess.run(["pgrep", "-f", "python -m services.gateway"], capture_output=True, text=True)
    for pid in found.stdout.split():
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        given = [v.split(b"=", 1)[1] for v in environ if v.startswith(b"ONAIR_GATEWAY_PORT=")]
        if (int(given[0]) if given else 8000) == port:
            return int(pid)
    raise SystemExit(f"no gateway process on port {port} (is `make run` going?)")


async def main(args: argparse.Namespace) -> None:
    secret = GatewaySettings().jwt_secret.get_secret_value()
    run = uuid.uuid4().hex[:6]
    tokens = [mint_token(secret, f"bench-watcher-{run}-{i}", ttl_seconds=3600) for i in range(args.streams)]
    anchor = {"Authorization": f"Bearer {mint_token(secret, f'bench-anchor-{run}')}"}
    fan = {"Authorization": f"Bearer {mint_token(secret, f'bench-fan-{run}')}"}
    base = f"http://127.0.0.1:{args.port}"
    rows = ["| server | streams | opened in | memory / stream | RSS | CPU at rest (one core) | after 202 p50 ms "
            "| p99 ms | max ms | spread ms |", "|---|---|---|---|---|---|---|---|---|---|"]
    async with aiohttp.ClientSession(base) as http:
        async with http.post("/v1/rooms", json={"title": "streams bench", "cover_url": "https://img.example.com/c.jpg"},
                             headers=anchor) as created:
            room_id = (await created.json())["room"]["id"]
        async with http.post(f"/v1/rooms/{room_id}/activate", headers=anchor) as activated:
            assert activated.status == 200, await activated.text()

        async def like(_: int) -> None:
            async with http.post(f"/v1/rooms/{room_id}/likes", headers=fan) as response:
                assert response.status == 202, await response.text()

        rows += await measure("gateway", gateway_pid(args.port), "127.0.0.1", args.port, f"/v1/rooms/{room_id}/events",
                              tokens, args, like)
        print(rows[-1], flush=True)
    bare = subprocess.Popen([sys.executable, str(REPO / "bench" / "bare_sse.py"), str(args.bare_port)])
    try:
        await asyncio.sleep(1.5)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{args.bare_port}") as http:

            async def poke(likes: int) -> None:
                async with http.post("/poke", params={"likes": str(likes)}) as response:
                    assert response.status == 200

            rows += await measure("bare aiohttp SSE", bare.pid, "127.0.0.1", args.bare_port, "/events", tokens, args,
                                  poke)
    finally:
        bare.terminate()
        bare.wait(10)
    print("\n".join(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("ONAIR_GATEWAY_PORT", "8000")))
    parser.add_argument("--bare-port", type=int, default=8003)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--rest", type=float, default=20.0, help="seconds of CPU-at-rest sampling")
    parser.add_argument("--rounds", type=int, default=5, help="fan-out rounds (medians)")
    uvloop.run(main(parser.parse_args()))
