"""The `new` order as a plain list of room ids, newest first, for the category walks
(`filtered.py`): a list's iterator runs in C, where the sorted list's is Python and three times
slower a step. Made again on first use after the order changed (rooms on or off air; counts never
touch it)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from itertools import islice

from sortedcontainers import SortedList

Key = tuple[int, str]  # (activated_at ms, room id)


class NewestLists:
    def __init__(self, order: SortedList[Key]) -> None:
        self._order = order
        self._made: tuple[list[Key], list[str]] | None = None

    def changed(self) -> None:
        self._made = None

    def _lists(self) -> tuple[list[Key], list[str]]:
        if self._made is None:
            keys = list(self._order)
            self._made = keys, [key[1] for key in reversed(keys)]
        return self._made

    def ids(self, after: Key | None) -> Iterator[str]:
        """The room ids after the cursor key, newest first."""
        keys, ids = self._lists()
        return islice(ids, len(keys) - bisect_left(keys, after) if after is not None else 0, None)
