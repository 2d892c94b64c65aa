"""Every message that crosses the bus, by context (`rooms`, `streams`, `moderation`, `gateway`), on the
common base (`base`: Contract, Request[R], Query[R], replies) and codec (`codec`: the envelope).

Defining a message class with a `TYPE` registers it for decoding: there is no list to keep.
"""

from __future__ import annotations

# One name a line (isort would merge them into blocks that look like every importer's list).
# isort: skip_file
from shared.contracts.base import Contract
from shared.contracts.base import ErrorCode
from shared.contracts.base import MESSAGE_TYPES
from shared.contracts.base import Query
from shared.contracts.base import Reply
from shared.contracts.base import ReplyError
from shared.contracts.base import Request
from shared.contracts.codec import Envelope
from shared.contracts.codec import InvalidMessage
from shared.contracts.codec import SCHEMA_VERSION
from shared.contracts.codec import decode
from shared.contracts.codec import encode
from shared.contracts.codec import wrap
from shared.contracts.rooms import ActivateRoom
from shared.contracts.rooms import AnchorRooms
from shared.contracts.rooms import BanAnchor
from shared.contracts.rooms import BannedRooms
from shared.contracts.rooms import CloseReason
from shared.contracts.rooms import CloseRoom
from shared.contracts.rooms import CounterEntry
from shared.contracts.rooms import CreateRoom
from shared.contracts.rooms import GetRoom
from shared.contracts.rooms import GetRoomByStream
from shared.contracts.rooms import ListLiveRooms
from shared.contracts.rooms import ListAnchorRooms
from shared.contracts.rooms import LiveRoomPage
from shared.contracts.rooms import Location
from shared.contracts.rooms import RecordCounters
from shared.contracts.rooms import Room
from shared.contracts.rooms import RoomActivated
from shared.contracts.rooms import RoomClosed
from shared.contracts.rooms import RoomCountersChanged
from shared.contracts.rooms import RoomCounts
from shared.contracts.rooms import RoomCreated
from shared.contracts.rooms import RoomInterrupted
from shared.contracts.rooms import RoomResumed
from shared.contracts.rooms import RoomStatus
from shared.contracts.rooms import LiveState
from shared.contracts.replays import DeleteReplay
from shared.contracts.replays import HideReplay
from shared.contracts.replays import ListReplays
from shared.contracts.replays import RecordingDeleted
from shared.contracts.replays import RecordingReady
from shared.contracts.replays import RecordingSaved
from shared.contracts.replays import Replay
from shared.contracts.replays import ReplayPage
from shared.contracts.follows import Anchor
from shared.contracts.follows import AnchorFollowed
from shared.contracts.follows import AnchorWentLive
from shared.contracts.follows import Follow
from shared.contracts.follows import FollowState
from shared.contracts.follows import FollowersToAlert
from shared.contracts.follows import FollowingPage
from shared.contracts.follows import GetAnchor
from shared.contracts.follows import ListFollowing
from shared.contracts.gateway import PresenceReport
from shared.contracts.streams import StreamOfflineStrike
from shared.contracts.streams import StreamRecovered
from shared.contracts.streams import StreamStarted
from shared.contracts.streams import StreamStopped
from shared.contracts.moderation import AnchorBanned
from shared.contracts.moderation import AnchorBans
from shared.contracts.moderation import AnchorUnbanned
from shared.contracts.moderation import BanAccepted
from shared.contracts.moderation import BanRecord
from shared.contracts.moderation import BanRoom
from shared.contracts.moderation import Case
from shared.contracts.moderation import CaseAction
from shared.contracts.moderation import CasePage
from shared.contracts.moderation import CaseStatus
from shared.contracts.moderation import DetectionReported
from shared.contracts.moderation import ListAnchorBans
from shared.contracts.moderation import ListCases
from shared.contracts.moderation import ResolveCase
from shared.contracts.moderation import StreamCut
from shared.contracts.moderation import Suggestion
from shared.contracts.moderation import UnbanAnchor

__all__ = [
    "MESSAGE_TYPES",
    "SCHEMA_VERSION",
    "ActivateRoom",
    "Anchor",
    "AnchorBanned",
    "AnchorBans",
    "AnchorFollowed",
    "AnchorRooms",
    "AnchorUnbanned",
    "AnchorWentLive",
    "BanAccepted",
    "BanAnchor",
    "BanRecord",
    "BanRoom",
    "BannedRooms",
    "Case",
    "CaseAction",
    "CasePage",
    "CaseStatus",
    "CloseReason",
    "CloseRoom",
    "Contract",
    "CounterEntry",
    "CreateRoom",
    "DeleteReplay",
    "DetectionReported",
    "Envelope",
    "ErrorCode",
    "Follow",
    "FollowState",
    "FollowersToAlert",
    "FollowingPage",
    "GetAnchor",
    "GetRoom",
    "GetRoomByStream",
    "HideReplay",
    "InvalidMessage",
    "ListAnchorBans",
    "ListAnchorRooms",
    "ListCases",
    "ListFollowing",
    "ListLiveRooms",
    "ListReplays",
    "LiveRoomPage",
    "LiveState",
    "Location",
    "PresenceReport",
    "Query",
    "RecordCounters",
    "RecordingDeleted",
    "RecordingReady",
    "RecordingSaved",
    "Replay",
    "ReplayPage",
    "Reply",
    "ReplyError",
    "Request",
    "ResolveCase",
    "Room",
    "RoomActivated",
    "RoomClosed",
    "RoomCountersChanged",
    "RoomCounts",
    "RoomCreated",
    "RoomInterrupted",
    "RoomResumed",
    "RoomStatus",
    "StreamCut",
    "StreamOfflineStrike",
    "StreamRecovered",
    "StreamStarted",
    "StreamStopped",
    "Suggestion",
    "UnbanAnchor",
    "decode",
    "encode",
    "wrap",
]
