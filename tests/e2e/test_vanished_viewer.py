"""A phone that loses its network closes nothing: its stream must still leave viewers_now.

A real TCP connection from another network namespace (a veth pair: the "phone"), whose link is
then cut, so the gateway's heartbeats go unacknowledged, exactly as with a phone in a tunnel.
Needs root (network namespaces); skipped elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.gateway.bootstrap import create_app
from services.rooms.bootstrap import RoomsService
from tests.fixtures import Client, gateway_settings, new_user, wait_ready
from tests.integration.test_counters import live_room

Auth = Callable[..., dict[str, str]]
HOST_IP, PHONE_IP = "10.77.0.1", "10.77.0.2"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def phone_network() -> Iterator[str]:
    """A network namespace joined to this one by a veth pair; yields the namespace's name."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    name, host_end = f"phone{uuid.uuid4().hex[:6]}", f"vh{uuid.uuid4().hex[:6]}"
    try:
        ip("netns", "add", name)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot make a network namespace here: {exc}")
    try:
        ip("link", "add", host_end, "type", "veth", "peer", "name", "vphone", "netns", name)
        ip("addr", "add", f"{HOST_IP}/24", "dev", host_end)
        ip("link", "set", host_end, "up")
        ip("netns", "exec", name, "ip", "addr", "add", f"{PHONE_IP}/24", "dev", "vphone")
        ip("netns", "exec", name, "ip", "link", "set", "vphone", "up")
        yield name
    finally:
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


async def test_a_viewer_whose_network_vanished_leaves_viewers_now_within_20_s(
    rooms_service: RoomsService, amqp_url: str, namespace: str, phone_network: str, auth: Auth
) -> None:
    settings = gateway_settings(amqp_url, namespace, presence_period_seconds=2.0, sse_heartbeat_seconds=5.0)
    server = TestServer(create_app(settings), host=HOST_IP)
    async with TestClient(server) as gateway:
        await wait_ready(gateway)
        _, room_id = await live_room(gateway, auth)
        token = auth(new_user())["Authorization"]
        # The phone: curl in the other namespace, holding the stream open.
        phone = subprocess.Popen(["ip", "netns", "exec", phone_network, "curl", "-sN", "-H", f"Authorization: {token}",
                                  f"http://{HOST_IP}:{server.port}/v1/rooms/{room_id}/events"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await until_viewers_now(gateway, auth, room_id, 1, seconds=10)
            # The tunnel: the phone's end of the link goes down; nothing is sent, nothing answers.
            ip("netns", "exec", phone_network, "ip", "link", "set", "vphone", "down")
            cut = time.monotonic()
            await until_viewers_now(gateway, auth, room_id, 0, seconds=25)
            assert time.monotonic() - cut <= 20  # heartbeat 5 s + TCP_USER_TIMEOUT 5 s + tick + report
        finally:
            phone.kill()
            phone.wait()


async def until_viewers_now(gateway: Client, auth: Auth, room_id: str, expected: int, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            room = await (await gateway.get(f"/v1/rooms/{room_id}", headers=auth("reader"))).json()
        except aiohttp.ClientError:
            room = {}
        if room.get("viewers_now") == expected:
            return
        assert time.monotonic() < deadline, f"viewers_now stayed {room.get('viewers_now')}, expected {expected}"
        await asyncio.sleep(0.25)
