"""MongoDB helpers shared by the services that own a collection (PyMongo's async API)."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient


def mongo_client(url: str) -> AsyncMongoClient[dict[str, Any]]:
    # tz_aware: stored UTC datetimes come back as aware datetimes, matching the contracts.
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000)
