"""Typed application keys: what the gateway's views share."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.gateway.auth import TokenPolicy
from services.gateway.counters import CounterBatcher
from services.gateway.directory import RoomDirectory, RoomLister
from services.gateway.limits import RateLimiter, StreamSlots
from services.gateway.live import LiveRooms, RoomStatusCache
from services.gateway.presence import Presence
from shared.bus import Bus
from shared.clients import RoomsClient
from shared.settings import GatewaySettings
from shared.signing import UrlSigner

SETTINGS = web.AppKey("settings", GatewaySettings)
TOKENS = web.AppKey("tokens", TokenPolicy)
BUS = web.AppKey("bus", Bus)
ROOMS = web.AppKey("rooms", RoomsClient)
SIGNER = web.AppKey("signer", UrlSigner)
COUNTERS = web.AppKey("counters", CounterBatcher)
ROOM_STATUS = web.AppKey("room_status", RoomStatusCache)
LIVE = web.AppKey("live", LiveRooms)
PRESENCE = web.AppKey("presence", Presence)
DIRECTORY = web.AppKey("directory", RoomDirectory)
LISTER = web.AppKey("lister", RoomLister)
LIMITER = web.AppKey("limiter", RateLimiter)
STREAM_SLOTS = web.AppKey("stream_slots", StreamSlots)
# The task that connects, subscribes to room events and keeps the directory synced (runs forever).
LISTENER = web.AppKey("listener", asyncio.Task[None])

# Per request: the id bound to its log lines and carried as the messages' correlation id.
REQUEST_ID = web.RequestKey("request_id", str)
# Set by hot-path views: their successful requests are logged at debug level only.
QUIET_ACCESS_LOG = web.RequestKey("quiet_access_log", bool)
