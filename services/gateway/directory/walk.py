"""The `new` order as plain lists, newest first, for the filtered walks (`filtered.py`): the
room ids and, beside them, their anchors. A list's iterator runs in C, where the sorted list's
is Python and three times slower a step; the anchors side by side let the Following tab's walk
test each room's anchor in C without touching the order's key tuples. Made again on first use
after the order changed (rooms on or off air; counts never touch it)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Set
from itertools import compress, islice

from sortedcontainers import SortedList

Key = tuple[int, str, str]  # (activated_at ms, room id, anchor id)


class NewestLists:
    def __init__(self, order: SortedList[Key]) -> None:
        self._order = order
        self._made: tuple[list[Key], list[str], list[str]] | None = None

    def changed(self) -> None:
        self._made = None

    def _lists(self) -> tuple[list[Key], list[str], list[str]]:
        if self._made is None:
            keys = list(self._order)
            newest_first = keys[::-1]
            self._made = keys, [key[1] for key in newest_first], [key[2] for key in newest_first]
        return self._made

    def _start(self, keys: list[Key], after: tuple[int, str] | None) -> int:
        """Where the rooms after the cursor key begin, newest first ((ms, id) sorts before its keys)."""
        return len(keys) - bisect_left(keys, after) if after is not None else 0

    def ids(self, after: tuple[int, str] | None) -> Iterator[str]:
        keys, ids, _ = self._lists()
        return islice(ids, self._start(keys, after), None)

    def ids_of(self, anchors: Set[str], after: tuple[int, str] | None) -> Iterator[str]:
        """The ids of the rooms whose anchor is in `anchors`: the rooms passed over never leave C."""
        keys, ids, owners = self._lists()
        start = self._start(keys, after)
        return compress(islice(ids, start, None), map(anchors.__contains__, islice(owners, start, None)))
