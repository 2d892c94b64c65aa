"""A TCP proxy in front of the real broker that can play a node which answers heartbeats but
never a channel open (what a node busy rejoining its cluster after a hang looks like to a
client), and can cut every connection through it."""

from __future__ import annotations

import asyncio
import contextlib
import struct

from yarl import URL

PROTOCOL_HEADER_BYTES = 8  # "AMQP" 0 0 9 1
CHANNEL_OPEN = struct.pack(">HH", 20, 10)  # class channel, method open
METHOD_FRAME = 1


class StallingProxy:
    def __init__(self, broker_url: str) -> None:
        self._broker = URL(broker_url)
        self.stall_channel_opens = False
        self.swallowed = 0  # channel opens never passed on
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        """The broker URL through this proxy."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return str(self._broker.with_host("127.0.0.1").with_port(port))

    def cut(self) -> None:
        """Drop every connection through the proxy, as a node that went away would."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        broker_reader, broker_writer = await asyncio.open_connection(self._broker.host, self._broker.port)
        self._writers += [client_writer, broker_writer]
        pipes = [asyncio.create_task(self._client_to_broker(client_reader, broker_writer)),
                 asyncio.create_task(self._broker_to_client(broker_reader, client_writer))]
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for pipe in pipes:
            pipe.cancel()
        for writer in (client_writer, broker_writer):
            writer.transport.abort()

    async def _client_to_broker(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            writer.write(await reader.readexactly(PROTOCOL_HEADER_BYTES))
            while True:
                head = await reader.readexactly(7)  # type, channel, payload size
                kind, _, size = struct.unpack(">BHI", head)
                rest = await reader.readexactly(size + 1)  # payload and the frame end
                if self.stall_channel_opens and kind == METHOD_FRAME and rest[:4] == CHANNEL_OPEN:
                    self.swallowed += 1
                    continue
                writer.write(head + rest)

    @staticmethod
    async def _broker_to_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
