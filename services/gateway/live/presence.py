"""`viewers_now`: the open live-update streams of each room, across every gateway.

Each gateway counts its own streams per room and, every `PERIOD_SECONDS`, publishes a
`gateway.presence` event under its instance id carrying the rooms whose count changed since its
last report (0 once its last stream of a room closed). Its first report says hello, and every
gateway answers a hello, and every `FULL_EVERY`-th period, with a full report: a gateway that
starts learns every count within one period. Each gateway keeps every other instance's counts
apart and adds its own: an instance silent for `SILENT_PERIODS` periods (crashed, cut off) is
dropped with all its counts, so a dead gateway leaves no ghosts.

Changes reach the directory (and the live updates of the rooms' viewers) on the local gateway
at its next tick, and on the others when its report arrives: a join or a clean leave shows
everywhere within about two periods.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping

from shared.contracts import PresenceReport

PERIOD_SECONDS = 2.0
SILENT_PERIODS = 3
FULL_EVERY = 15  # periods: a full report now and then repairs anything a lost report left wrong


class Presence:
    def __init__(self, *, instance: str | None = None, period: float = PERIOD_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.instance = instance or uuid.uuid4().hex[:12]
        self.period, self._clock = period, clock
        self._mine: dict[str, int] = {}  # this gateway's streams per room, as last reported
        self._others: dict[str, tuple[dict[str, int], float]] = {}  # instance -> (counts, last heard)
        self._totals: dict[str, int] = {}  # room -> streams on every live instance
        self._reports = 0
        self._full_asked = False

    def now(self, room_id: str) -> int:
        return self._totals.get(room_id, 0)

    def report(self, mine: Mapping[str, int]) -> tuple[PresenceReport, set[str]]:
        """This gateway's report from its current counts, and the rooms whose total changed."""
        changed = {room for room in mine.keys() | self._mine.keys() if mine.get(room, 0) != self._mine.get(room, 0)}
        full = self._full_asked or self._reports % FULL_EVERY == 0
        rooms = dict(mine) if full else {room: mine.get(room, 0) for room in changed}
        for room in changed:
            self._add(room, mine.get(room, 0) - self._mine.get(room, 0))
        self._mine = {room: count for room, count in mine.items() if count}
        report = PresenceReport(instance=self.instance, rooms=rooms, full=full, hello=self._reports == 0)
        self._reports += 1
        self._full_asked = False
        return report, changed

    def apply(self, report: PresenceReport) -> set[str]:
        """Another gateway's report; returns the rooms whose total changed."""
        if report.instance == self.instance:
            return set()
        if report.hello:
            self._full_asked = True  # it knows nothing yet: tell it everything next time
        before, _ = self._others.get(report.instance, ({}, 0.0))
        after = dict(report.rooms) if report.full else {**before, **report.rooms}
        after = {room: count for room, count in after.items() if count > 0}
        self._others[report.instance] = (after, self._clock())
        return self._moved(before, after)

    def expire(self) -> set[str]:
        """Drop the instances not heard from for `SILENT_PERIODS` periods; the rooms that changed."""
        deadline = self._clock() - SILENT_PERIODS * self.period
        changed: set[str] = set()
        for instance, (counts, heard) in list(self._others.items()):
            if heard < deadline:
                del self._others[instance]
                changed |= self._moved(counts, {})
        return changed

    @property
    def instances(self) -> int:
        """Gateways counted, this one included."""
        return len(self._others) + 1

    def _moved(self, before: Mapping[str, int], after: Mapping[str, int]) -> set[str]:
        changed = set()
        for room in before.keys() | after.keys():
            delta = after.get(room, 0) - before.get(room, 0)
            if delta:
                self._add(room, delta)
                changed.add(room)
        return changed

    def _add(self, room: str, delta: int) -> None:
        total = self._totals.get(room, 0) + delta
        if total > 0:
            self._totals[room] = total
        else:
            self._totals.pop(room, None)
