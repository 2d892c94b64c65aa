"""Fixtures of the unit tier: a room directory and its lister on a hand-moved clock."""

from __future__ import annotations

import pytest

from services.gateway.directory import RoomDirectory, RoomLister
from services.gateway.directory.cursors import CursorCodec
from shared.settings import SigningSettings
from shared.signing import UrlSigner
from tests.unit.test_directory import T0, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def lister(clock: Clock) -> RoomLister:
    directory = RoomDirectory(clock=clock)
    directory.finish_snapshot([])
    return RoomLister(directory, UrlSigner(SigningSettings()), CursorCodec(b"unit-test-cursor-key"), clock=clock,
                      wall_clock=lambda: T0.timestamp())
