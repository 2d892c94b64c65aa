import hashlib
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from pydantic import SecretStr

from shared.settings import SigningSettings
from shared.signing import UrlSigner, tx_secret, tx_time, verify_tx_secret

OFFICIAL_KEY = "e12c46f2612d5106e2034781ab261ca3"


def test_official_vector() -> None:
    assert tx_time(datetime.fromtimestamp(1546064025, UTC)) == "5C271099"
    assert tx_secret(OFFICIAL_KEY, "test", "5C271099") == "f85a2ab363fe4deaffef9754d79da6fe"


def test_case_of_tx_time_matters() -> None:
    assert tx_secret(OFFICIAL_KEY, "test", "5c271099") == "9603387445825a481e6b7496aced5746"


def test_verify_accepts_valid_and_refuses_expired_or_forged() -> None:
    before = datetime.fromtimestamp(1546064000, UTC)
    after = datetime.fromtimestamp(1546064026, UTC)
    good = "f85a2ab363fe4deaffef9754d79da6fe"
    assert verify_tx_secret(OFFICIAL_KEY, "test", "5C271099", good, now=before)
    assert not verify_tx_secret(OFFICIAL_KEY, "test", "5C271099", good, now=after)
    assert not verify_tx_secret(OFFICIAL_KEY, "other", "5C271099", good, now=before)
    assert not verify_tx_secret(OFFICIAL_KEY, "test", "zz", good, now=before)


def _signer() -> UrlSigner:
    return UrlSigner(SigningSettings(push_domain="push.example.com", play_domain="play.example.com",
                                     play_http_base="https://play.example.com", push_key=SecretStr("pk"),
                                     play_key=SecretStr("vk"), push_url_ttl_seconds=3600,
                                     play_url_ttl_seconds=600))


def test_push_url_is_signed_with_the_push_key() -> None:
    now = datetime.fromtimestamp(1_700_000_000, UTC)
    push = _signer().push_url("s1", now=now)
    parts = urlsplit(push.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("rtmp", "push.example.com", "/live/s1")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["txTime"] == format(1_700_003_600, "X")
    assert query["txSecret"] == tx_secret("pk", "s1", query["txTime"])
    assert push.expires_at.timestamp() == 1_700_003_600


def test_play_urls_use_the_play_key_in_three_forms() -> None:
    now = datetime.fromtimestamp(1_700_000_000, UTC)
    urls = _signer().play_urls("s1", now=now)
    t = format(1_700_000_600, "X")
    query = f"txSecret={tx_secret('vk', 's1', t)}&txTime={t}"
    assert urls == {
        "rtmp": f"rtmp://play.example.com/live/s1?{query}",
        "flv": f"https://play.example.com/live/s1.flv?{query}",
        "hls": f"https://play.example.com/live/s1.m3u8?{query}",
    }


def test_replay_urls_on_the_media_server_and_in_tencent_vod() -> None:
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    signer = UrlSigner(SigningSettings(play_key=SecretStr("pk"), vod_key=SecretStr("vk"),
                                       play_http_base="https://play.example.com", replay_url_ttl_seconds=3600))
    local = urlsplit(signer.replay_url("s1/s1-1764489600.mp4", now=now).url)
    query = {k: v[0] for k, v in parse_qs(local.query).items()}
    assert (local.netloc, local.path) == ("play.example.com", "/recordings/s1/s1-1764489600.mp4")
    assert verify_tx_secret("pk", "s1/s1-1764489600.mp4", query["txTime"], query["txSecret"], now=now)
    # Tencent VOD key anti-leech (type A): sign = md5(KEY + Dir + t), t the expiry in lower-case hex.
    vod = signer.replay_url("http://1234.vod2.myqcloud.com/8e4c9b/f0.mp4", now=now)
    query = {k: v[0] for k, v in parse_qs(urlsplit(vod.url).query).items()}
    t = format(int(now.timestamp()) + 3600, "x")
    expected = hashlib.md5(f"vk/8e4c9b/{t}".encode()).hexdigest()
    assert query == {"t": t, "sign": expected} and vod.expires_at.timestamp() == int(now.timestamp()) + 3600
