"""The fake Tencent API's signature check must agree with Tencent's official vector."""

from tests.fakes.tencent_api import tc3_signature

OFFICIAL_BODY = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'


def test_official_tc3_vector() -> None:
    signature = tc3_signature(secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", service="cvm",
                              host="cvm.tencentcloudapi.com", content_type="application/json; charset=utf-8",
                              body=OFFICIAL_BODY, timestamp=1551113065)
    assert signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"


def test_any_change_breaks_the_signature() -> None:
    base = dict(secret_key="k", service="live", host="h", content_type="application/json", body=b"{}",
                timestamp=1551113065)
    reference = tc3_signature(**base)  # type: ignore[arg-type]
    for key, value in [("secret_key", "k2"), ("host", "h2"), ("body", b"{ }"), ("timestamp", 1551113066)]:
        assert tc3_signature(**{**base, key: value}) != reference  # type: ignore[arg-type]
