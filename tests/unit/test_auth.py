import time

import jwt
import pytest
from aiohttp.test_utils import make_mocked_request

from services.gateway.http.auth import TokenPolicy, authenticate, mint_token
from services.gateway.http.problems import Problem

SECRET = "unit-test-secret-0123456789abcdef0123"
OTHER_SECRET = "another-secret-0123456789abcdef01"
POLICY = TokenPolicy(SECRET, leeway_seconds=0)


def request_with(header: str | None):  # type: ignore[no-untyped-def]
    return make_mocked_request("GET", "/", headers={"Authorization": header} if header else {})


def token(**claims: object) -> str:
    return jwt.encode({"sub": "alice", "exp": int(time.time()) + 60, **claims}, SECRET, algorithm="HS256")


def test_valid_token() -> None:
    principal = authenticate(request_with(f"Bearer {mint_token(SECRET, 'alice')}"), POLICY)
    assert principal.user_id == "alice" and not principal.is_admin and principal.expires_at > time.time()


def test_admin_role() -> None:
    assert authenticate(request_with(f"Bearer {mint_token(SECRET, 'mod', admin=True)}"), POLICY).is_admin


@pytest.mark.parametrize("header", [
    None,
    "Basic abc",
    "Bearer ",
    "Bearer not-a-jwt",
    f"Bearer {jwt.encode({'sub': 'alice', 'exp': int(time.time()) + 60}, OTHER_SECRET, algorithm='HS256')}",
    f"Bearer {jwt.encode({'sub': 'alice', 'exp': int(time.time()) - 5}, SECRET, algorithm='HS256')}",
    f"Bearer {jwt.encode({'sub': 'alice'}, SECRET, algorithm='HS256')}",
    f"Bearer {jwt.encode({'exp': int(time.time()) + 60}, SECRET, algorithm='HS256')}",
])
def test_bad_credentials_are_401(header: str | None) -> None:
    with pytest.raises(Problem) as err:
        authenticate(request_with(header), POLICY)
    assert err.value.status == 401


def test_an_expired_token_is_refused_even_after_it_was_verified() -> None:
    now = [time.time()]
    policy = TokenPolicy(SECRET, leeway_seconds=0, clock=lambda: now[0])
    short = jwt.encode({"sub": "alice", "exp": now[0] + 60}, SECRET, algorithm="HS256")
    assert authenticate(request_with(f"Bearer {short}"), policy).user_id == "alice"
    now[0] += 61  # a minute later: the verified token is kept, its expiry checked again
    with pytest.raises(Problem):
        authenticate(request_with(f"Bearer {short}"), policy)


def test_a_little_clock_leeway() -> None:
    just_expired = token(exp=int(time.time()) - 5)
    assert authenticate(request_with(f"Bearer {just_expired}"), TokenPolicy(SECRET, leeway_seconds=30))
    with pytest.raises(Problem):
        authenticate(request_with(f"Bearer {just_expired}"), POLICY)


def test_issuer_and_audience_when_configured() -> None:
    policy = TokenPolicy(SECRET, issuer="https://id.example.com", audience="onair")
    good = token(iss="https://id.example.com", aud="onair")
    assert authenticate(request_with(f"Bearer {good}"), policy).user_id == "alice"
    for bad in (token(), token(iss="https://evil.example.com", aud="onair"), token(iss="https://id.example.com",
                                                                                   aud="other")):
        with pytest.raises(Problem):
            authenticate(request_with(f"Bearer {bad}"), policy)


def test_a_token_in_the_query_only_where_allowed() -> None:
    viewer = mint_token(SECRET, "viewer")
    request = make_mocked_request("GET", f"/v1/rooms/r/events?access_token={viewer}")
    assert authenticate(request, POLICY, allow_query=True).user_id == "viewer"
    with pytest.raises(Problem) as err:
        authenticate(make_mocked_request("GET", f"/v1/rooms?access_token={viewer}"), POLICY)
    assert err.value.status == 401


def test_a_token_may_live_at_most_its_maximum_lifetime() -> None:
    policy = TokenPolicy(SECRET, leeway_seconds=30, max_lifetime_seconds=24 * 3600)
    forever = jwt.encode({"sub": "alice", "exp": 31_000_000_000}, SECRET, algorithm="HS256")  # year ~2952
    with pytest.raises(Problem):
        authenticate(request_with(f"Bearer {forever}"), policy)
    a_week = mint_token(SECRET, "alice", ttl_seconds=7 * 24 * 3600)
    with pytest.raises(Problem):
        authenticate(request_with(f"Bearer {a_week}"), policy)
    assert authenticate(request_with(f"Bearer {mint_token(SECRET, 'alice')}"), policy).user_id == "alice"
