"""The parts a fault scenario breaks: a private RabbitMQ node (never the machine's shared broker),
a private embedded store, and a TCP proxy that cuts connections to the broker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.conftest import free_port, port_open, wait_for_port


class PrivateBroker:
    """A RabbitMQ node of its own (ports, data directory, cookie), stopped and started at will;
    its data survives a restart, as a real broker's does."""

    def __init__(self, workdir: Path, *, home: Path | None = None, env: dict[str, str] | None = None) -> None:
        """`home`: where the Erlang cookie is (the nodes of one cluster share it); `env`: more
        settings for the node (e.g. RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS)."""
        self.dir, self.port = workdir, free_port()
        self.home = home or workdir
        self.node = f"faults{uuid.uuid4().hex[:6]}@localhost"
        self._extra_env = env or {}
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.url_of("guest", "guest")

    def url_of(self, user: str, password: str) -> str:
        return f"amqp://{user}:{password}@127.0.0.1:{self.port}/"

    def ctl_env(self) -> dict[str, str]:
        """What rabbitmqctl needs to reach this node (its name, and the cookie in its HOME)."""
        return {**os.environ, "HOME": str(self.home), "RABBITMQ_NODENAME": self.node,
                "RABBITMQCTL": "/usr/lib/rabbitmq/bin/rabbitmqctl"}

    def ctl(self, *args: str) -> str:
        return subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", self.node, *args], env=self.ctl_env(),
                              capture_output=True, text=True, check=True, timeout=60).stdout

    def start(self) -> None:
        env = {**os.environ, **self._extra_env, "HOME": str(self.home), "RABBITMQ_NODENAME": self.node,
               "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(free_port()),
               "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"), "RABBITMQ_LOG_BASE": str(self.dir / "log"),
               "RABBITMQ_CONFIG_FILE": str(self.dir / "none"), "RABBITMQ_PID_FILE": str(self.dir / "pid"),
               "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins")}
        log = open(self.dir / "broker.log", "ab")
        self._proc = subprocess.Popen(["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_for_port(self.port, 60, "private RabbitMQ")

    def stop(self) -> None:
        if self._proc is not None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            self._proc.wait(30)
            self._proc = None
        deadline = time.monotonic() + 10
        while port_open("127.0.0.1", self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def pause(self, paused: bool) -> None:
        """Hang the node (SIGSTOP: its sockets stay open, nothing answers) or resume it."""
        assert self._proc is not None
        os.killpg(self._proc.pid, signal.SIGSTOP if paused else signal.SIGCONT)


class PrivateCluster:
    """Three private nodes joined into one cluster (one cookie in a shared HOME). Quorum queues
    declared on it keep a replica on every node."""

    def __init__(self, workdir: Path, size: int = 3) -> None:
        # A short failure detector, so that a hung node is declared down within seconds.
        # pause_minority, as the production RabbitmqCluster runs: a node that comes back from a hang
        # finds itself alone, pauses, and rejoins the majority instead of leaving the cluster split.
        env = {"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
               "-kernel net_ticktime 8 -rabbit cluster_partition_handling pause_minority"}
        home = workdir / "home"
        home.mkdir()
        self.nodes = [PrivateBroker(workdir / f"node{i}", home=home, env=env) for i in range(size)]
        for node in self.nodes:
            node.dir.mkdir()

    @property
    def url(self) -> str:
        """ONAIR_AMQP_URL for the cluster: every node, comma-separated."""
        return ",".join(node.url for node in self.nodes)

    def start(self) -> None:
        self.nodes[0].start()
        for node in self.nodes[1:]:
            node.start()
            node.ctl("stop_app")
            node.ctl("join_cluster", self.nodes[0].node)
            node.ctl("start_app")
        status = self.nodes[0].ctl("cluster_status")
        assert all(node.node in status for node in self.nodes), status

    def leader_of(self, queue: str) -> PrivateBroker:
        """The node leading a quorum queue."""
        lines = self.nodes[0].ctl("list_queues", "name", "leader", "--no-table-headers", "--quiet").splitlines()
        leader = next(line.split()[1] for line in lines if line.split() and line.split()[0] == queue)
        return next(node for node in self.nodes if node.node == leader)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()


class PrivateStore:
    """An embedded MongoDB-protocol server (SecantusDB) of its own, stopped and started at will
    on the same port and data directory."""

    def __init__(self, workdir: Path) -> None:
        self.dir, self.port = workdir, free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"

    def start(self) -> None:
        log = open(self.dir / "store.log", "ab")
        self._proc = subprocess.Popen([str(Path(sys.executable).with_name("secantusd-py")), "--host", "127.0.0.1",
                                       "--port", str(self.port), "--storage-path", str(self.dir / "data"),
                                       "--log-level", "WARNING"], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_port(self.port, 60, "SecantusDB")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(30)
            self._proc = None


class TcpProxy:
    """Forwards a local port to the broker; `cut()` drops every connection through it at once
    (both ends reset), as a network fault between a service and the broker would."""

    def __init__(self, target_port: int) -> None:
        self.target, self.port = target_port, free_port()
        self._pipes: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            client_writer.close()
            return
        pair = {client_writer, broker_writer}
        self._pipes |= pair
        await asyncio.gather(self._pump(client_reader, broker_writer), self._pump(broker_reader, client_writer),
                             return_exceptions=True)
        self._pipes -= pair

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    @property
    def connections(self) -> int:
        return len(self._pipes) // 2

    def cut(self) -> int:
        pipes, self._pipes = list(self._pipes), set()
        for writer in pipes:
            writer.transport.abort()
        return len(pipes) // 2

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
