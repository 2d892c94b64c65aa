"""Pick the cloud adapter named by ONAIR_CLOUD."""

from __future__ import annotations

from shared.cloud.port import CloudPort
from shared.settings import CloudSettings


def cloud_from_settings(settings: CloudSettings) -> CloudPort:
    if settings.cloud == "tencent":
        from shared.cloud.tencent import TencentCloud

        return TencentCloud(settings)
    from shared.cloud.nginx_rtmp import NginxRtmpCloud

    return NginxRtmpCloud(settings)
