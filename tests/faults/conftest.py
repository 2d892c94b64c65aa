"""The private broker node every fault scenario module runs on (never the machine's broker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.parts import PrivateBroker


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    if not Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists():
        pytest.skip("no rabbitmq-server to start a private node with")
    node = PrivateBroker(tmp_path_factory.mktemp("broker"))
    node.start()
    yield node
    node.stop()
