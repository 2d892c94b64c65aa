"""Nearest rooms to a point: an R-tree (libspatialindex, through `rtree`) over unit vectors.

Each location is stored as a point on the unit sphere in 3-D. The straight-line (chord) distance
between two such points grows with the great-circle distance, so the R-tree's Euclidean
nearest-neighbour search returns rooms in true great-circle order, poles and the antimeridian
included, and it visits O(log n + k) nodes: no scan, however many rooms there are.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from rtree import index

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)

Point = tuple[float, float, float]


def unit_vector(lat: float, lng: float) -> Point:
    phi, lam = math.radians(lat), math.radians(lng)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance between two unit vectors."""
    chord = math.dist(a, b)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, chord / 2))


class GeoIndex:
    def __init__(self) -> None:
        self._tree = index.Index(properties=index.Property(dimension=3))
        self._points: dict[int, tuple[Point, str]] = {}  # tree id -> (point, room id)
        self._ids: dict[str, int] = {}
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, room_id: str, lat: float, lng: float) -> None:
        if room_id in self._ids:
            return
        point = unit_vector(lat, lng)
        tree_id, self._next_id = self._next_id, self._next_id + 1
        self._tree.insert(tree_id, point + point)
        self._points[tree_id] = (point, room_id)
        self._ids[room_id] = tree_id

    def remove(self, room_id: str) -> None:
        tree_id = self._ids.pop(room_id, None)
        if tree_id is not None:
            point, _ = self._points.pop(tree_id)
            self._tree.delete(tree_id, point + point)

    def nearest(self, origin: Point, count: int) -> Iterator[tuple[float, str]]:
        """At least `count` rooms nearest to `origin` (more on ties), as (km, room id), nearest first."""
        for tree_id in self._tree.nearest(origin + origin, count):
            point, room_id = self._points[tree_id]
            yield distance_km(origin, point), room_id
