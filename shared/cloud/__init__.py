"""The cloud boundary: one port (`CloudPort`), adapters chosen by ONAIR_CLOUD."""

from shared.cloud.port import CloudPort, CloudUnavailable, StreamState

__all__ = ["CloudPort", "CloudUnavailable", "StreamState"]
