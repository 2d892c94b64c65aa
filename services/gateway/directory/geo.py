"""Nearest rooms to a point: a k-d tree (pykdtree) over unit vectors.

Each location is stored as a point on the unit sphere in 3-D. The straight-line (chord) distance
between two such points grows with the great-circle distance, so the tree's Euclidean
nearest-neighbour search returns rooms in true great-circle order, poles and the antimeridian
included, in O(log n + k): no scan, however many rooms there are.

A k-d tree is built, not updated in place, so changes are layered on it: rooms added since the
build are few (`REBUILD_AFTER`) and are checked one by one; rooms removed since are dropped from
the tree's answers (it is asked for that many more). The tree is rebuilt, at the next query, once
`REBUILD_AFTER` changes have piled up or the oldest is `REBUILD_SECONDS` old (a build of 50,000
points takes about 15 ms).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

import numpy as np

# pykdtree parallelises a query over its points with OpenMP; ours are one point each, and idle
# OpenMP workers spin on the CPU the event loop needs (a query took 10x longer under load). Read
# by libgomp when it loads, so before the import.
os.environ.setdefault("OMP_NUM_THREADS", "1")
from pykdtree.kdtree import KDTree

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
REBUILD_AFTER = 32
REBUILD_SECONDS = 1.0

Point = tuple[float, float, float]


def unit_vector(lat: float, lng: float) -> Point:
    phi, lam = math.radians(lat), math.radians(lng)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def chord_to_km(chord: float) -> float:
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, chord / 2))


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance between two unit vectors."""
    return chord_to_km(math.dist(a, b))


class GeoIndex:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._points: dict[str, Point] = {}  # every located live room
        self._tree: KDTree | None = None
        self._tree_ids: list[str] = []
        self._added: dict[str, Point] = {}  # since the build: not in the tree
        self._removed = 0  # since the build: still in the tree
        self._changed_at: float | None = None  # the oldest change not in the tree
        self._query = np.zeros((1, 3))  # the point asked about, reused: one query at a time (one event loop)

    def __len__(self) -> int:
        return len(self._points)

    def add(self, room_id: str, lat: float, lng: float) -> None:
        if room_id not in self._points:
            self._points[room_id] = self._added[room_id] = unit_vector(lat, lng)
            self._changed()

    def remove(self, room_id: str) -> None:
        if self._points.pop(room_id, None) is not None:
            if self._added.pop(room_id, None) is None:
                self._removed += 1
            self._changed()

    def nearest(self, origin: Point, count: int) -> list[tuple[float, str]]:
        """The `count` rooms nearest to `origin` (all of them if fewer), as (km, room id) ascending."""
        if self._changed_at is not None and (len(self._added) + self._removed >= REBUILD_AFTER
                                             or self._clock() - self._changed_at >= REBUILD_SECONDS):
            self._build()
        asin, diameter = math.asin, 2 * EARTH_RADIUS_KM  # inlined chord_to_km: this runs per listed room
        ids = self._tree_ids
        if self._tree is None:
            chords: list[float] = []
            found: list[int] = []
        else:
            self._query[0] = origin
            answer = self._tree.query(self._query, k=min(count + self._removed, len(ids)))
            chords, found = answer[0].ravel().tolist(), answer[1].ravel().tolist()
        if not self._added and not self._removed:  # the usual case: the tree is the whole index
            return [(diameter * asin(chord / 2 if chord < 2 else 1.0), ids[i])
                    for chord, i in zip(chords, found, strict=True)]
        pairs = [(chord, ids[i]) for chord, i in zip(chords, found, strict=True) if ids[i] in self._points]
        pairs += [(math.dist(origin, point), room_id) for room_id, point in self._added.items()]
        pairs.sort()
        return [(diameter * asin(chord / 2 if chord < 2 else 1.0), room_id) for chord, room_id in pairs[:count]]

    def _changed(self) -> None:
        if self._changed_at is None:
            self._changed_at = self._clock()

    def _build(self) -> None:
        self._tree_ids = list(self._points)
        self._tree = KDTree(np.array(list(self._points.values()), dtype=np.float64)) if self._points else None
        self._added, self._removed, self._changed_at = {}, 0, None
