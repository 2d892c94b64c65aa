import pytest

from services.gateway.http.limits import Limit, RateLimiter, StreamSlots
from services.gateway.http.problems import Problem


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter({"like": Limit(rate=2, burst=3)}, clock=clock)
    assert [limiter.wait_needed("like", "ann") for _ in range(3)] == [0, 0, 0]
    assert limiter.wait_needed("like", "ann") == pytest.approx(0.5)  # one token comes back in 1/2 s
    assert limiter.wait_needed("like", "bob") == 0  # each user has a bucket of their own
    clock.now += 0.5
    assert limiter.wait_needed("like", "ann") == 0
    clock.now += 60
    assert [limiter.wait_needed("like", "ann") for _ in range(4)][-1] > 0  # refilled to the burst, no more


def test_a_refusal_is_a_429_with_retry_after() -> None:
    limiter = RateLimiter({"create": Limit(rate=0.1, burst=1)}, clock=Clock())
    limiter.check("create", "ann")
    with pytest.raises(Problem) as err:
        limiter.check("create", "ann")
    assert err.value.status == 429 and err.value.headers == {"Retry-After": "10"}


def test_forgotten_buckets_only_forgive() -> None:
    limiter = RateLimiter({"like": Limit(rate=1, burst=1)}, max_keys=2, clock=Clock())
    for user in ("a", "b", "c"):
        limiter.check("like", user)
    limiter.check("like", "a")  # a's empty bucket was the oldest: forgotten, so a starts full again


def test_stream_slots_per_user_and_per_process() -> None:
    slots = StreamSlots(per_user=2, total=3)
    slots.acquire("ann")
    slots.acquire("ann")
    with pytest.raises(Problem):
        slots.acquire("ann")
    slots.acquire("bob")
    with pytest.raises(Problem):
        slots.acquire("cid")  # the process is full
    slots.release("ann")
    slots.acquire("cid")
    assert slots.count == 3


def test_each_replica_takes_its_share_of_a_users_budget() -> None:
    """With 3 gateways alive, a user spread over them gets the budget once, not three times."""
    clock, replicas = Clock(), [3]
    limiters = [RateLimiter({"like": Limit(rate=3, burst=30)}, share=lambda: replicas[0], clock=clock)
                for _ in range(3)]
    taken = sum(limiter.wait_needed("like", "fan") == 0 for limiter in limiters for _ in range(20))
    assert taken == 30  # 10 a replica
    clock.now += 1.0
    assert sum(limiter.wait_needed("like", "fan") == 0 for limiter in limiters for _ in range(5)) == 3
    replicas[0] = 1  # the others are gone: this one applies the whole budget again
    clock.now += 10.0
    assert sum(limiters[0].wait_needed("like", "fan") == 0 for _ in range(40)) == 30


def test_stream_slots_are_shared_too() -> None:
    slots = StreamSlots(per_user=10, total=100, share=lambda: 4)
    for _ in range(3):  # ceil(10 / 4)
        slots.acquire("viewer")
    with pytest.raises(Problem):
        slots.acquire("viewer")
