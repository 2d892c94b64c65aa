import time

import jwt
import pytest
from aiohttp.test_utils import make_mocked_request

from services.gateway.auth import authenticate, mint_token
from services.gateway.problems import Problem

SECRET = "unit-test-secret-0123456789abcdef0123"
OTHER_SECRET = "another-secret-0123456789abcdef01"


def request_with(header: str | None):  # type: ignore[no-untyped-def]
    return make_mocked_request("GET", "/", headers={"Authorization": header} if header else {})


def test_valid_token() -> None:
    principal = authenticate(request_with(f"Bearer {mint_token(SECRET, 'alice')}"), SECRET)
    assert principal.user_id == "alice" and not principal.is_admin


def test_admin_role() -> None:
    assert authenticate(request_with(f"Bearer {mint_token(SECRET, 'mod', admin=True)}"), SECRET).is_admin


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
        authenticate(request_with(header), SECRET)
    assert err.value.status == 401


def test_an_expired_token_is_refused_even_after_it_was_verified() -> None:
    token = jwt.encode({"sub": "alice", "exp": time.time() + 1.2}, SECRET, algorithm="HS256")
    assert authenticate(request_with(f"Bearer {token}"), SECRET).user_id == "alice"
    time.sleep(1.3)
    with pytest.raises(Problem):
        authenticate(request_with(f"Bearer {token}"), SECRET)


def test_token_in_the_query_for_event_streams() -> None:
    token = mint_token(SECRET, "viewer")
    request = make_mocked_request("GET", f"/v1/rooms/r/events?access_token={token}")
    assert authenticate(request, SECRET).user_id == "viewer"
