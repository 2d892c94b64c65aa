"""viewers_now from per-gateway reports (diffs, full reports, hellos, dead gateways dropped), and the
once-a-second pass over this gateway's streams."""

from __future__ import annotations

from services.gateway.live.fanout import LiveRooms
from services.gateway.live.presence import FULL_EVERY, SILENT_PERIODS, Presence
from shared.contracts import PresenceReport


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_gateway_counts_its_own_streams_and_reports_only_what_changed() -> None:
    presence = Presence(instance="a", period=2.0, clock=Clock())
    first, changed = presence.report({"r1": 2, "r2": 1})
    assert first.hello and first.full and first.rooms == {"r1": 2, "r2": 1} and changed == {"r1", "r2"}
    assert (presence.now("r1"), presence.now("r2")) == (2, 1)
    second, changed = presence.report({"r1": 3})  # r2's last stream closed
    assert not second.hello and not second.full and second.rooms == {"r1": 3, "r2": 0}
    assert changed == {"r1", "r2"} and (presence.now("r1"), presence.now("r2")) == (3, 0)
    quiet, changed = presence.report({"r1": 3})
    assert quiet.rooms == {} and changed == set()  # still sent: a heartbeat


def test_totals_add_every_gateway_and_ignore_a_gateways_own_echo() -> None:
    presence = Presence(instance="a", clock=Clock())
    presence.report({"r1": 1})
    assert presence.apply(PresenceReport(instance="b", rooms={"r1": 4, "r2": 2}, full=True)) == {"r1", "r2"}
    assert presence.apply(PresenceReport(instance="c", rooms={"r1": 1})) == {"r1"}
    assert (presence.now("r1"), presence.now("r2"), presence.instances) == (6, 2, 3)
    assert presence.apply(PresenceReport(instance="b", rooms={"r2": 0})) == {"r2"}  # a diff
    assert presence.apply(PresenceReport(instance="a", rooms={"r1": 100})) == set()  # our own report
    assert (presence.now("r1"), presence.now("r2")) == (6, 0)
    # A full report replaces what was known of that gateway.
    assert presence.apply(PresenceReport(instance="c", rooms={"r3": 1}, full=True)) == {"r1", "r3"}
    assert (presence.now("r1"), presence.now("r3")) == (5, 1)


def test_a_gateway_silent_for_three_periods_drops_out_with_its_viewers() -> None:
    clock = Clock()
    presence = Presence(instance="a", period=2.0, clock=clock)
    presence.apply(PresenceReport(instance="b", rooms={"r1": 5}, full=True))
    presence.apply(PresenceReport(instance="c", rooms={"r1": 1}, full=True))
    clock.now = SILENT_PERIODS * 2.0 - 0.1
    presence.apply(PresenceReport(instance="c", rooms={}))  # c is alive; b has gone quiet
    assert presence.expire() == set()
    clock.now = SILENT_PERIODS * 2.0 + 0.1
    assert presence.expire() == {"r1"}
    assert presence.now("r1") == 1 and presence.instances == 2


def test_a_hello_is_answered_with_a_full_report_and_full_reports_recur() -> None:
    presence = Presence(instance="a", clock=Clock())
    presence.report({"r1": 1})
    assert not presence.report({"r1": 1})[0].full
    presence.apply(PresenceReport(instance="new", rooms={}, full=True, hello=True))
    answer, _ = presence.report({"r1": 1})
    assert answer.full and answer.rooms == {"r1": 1}
    fulls = [presence.report({"r1": 1})[0].full for _ in range(2 * FULL_EVERY)]
    assert fulls.count(True) == 2


def test_one_tick_reaps_the_gone_and_rings_heartbeats_when_due() -> None:
    clock = Clock()
    live = LiveRooms(heartbeat=5.0, clock=clock)
    connected = {"a": True, "b": True}
    a = live.join("r1", "alice", lambda: connected["a"])
    b = live.join("r1", "bob", lambda: connected["b"])
    assert live.streams() == {"r1": 2}
    clock.now = 1.0
    assert live.tick() == 0 and not a.wake.is_set()  # nothing due yet
    connected["a"] = False
    clock.now = 5.0
    assert live.tick() == 1
    assert a.gone and a.wake.is_set() and not a.beat_due  # gone: it leaves, no heartbeat
    assert b.beat_due and b.wake.is_set() and b.take()[3] is True
    clock.now = 6.0
    assert live.tick() == 0 and not b.wake.is_set()  # the next beat is 5 s later
    live.leave("r1", a)
    assert live.streams() == {"r1": 1}


def test_viewers_now_counts_people_not_their_streams() -> None:
    live = LiveRooms()
    streams = [live.join("r1", "alice") for _ in range(5)] + [live.join("r1", "bob")]
    assert live.streams() == {"r1": 2}
    for stream in streams[:4]:
        live.leave("r1", stream)
    assert live.streams() == {"r1": 2}  # alice still has one open
    live.leave("r1", streams[4])
    assert live.streams() == {"r1": 1}
