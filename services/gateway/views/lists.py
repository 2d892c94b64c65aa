"""HTTP API v1: the room list (`new`, `hot`, `near`; the Following tab; a category) and the
categories with their live counts. Every page comes from this gateway's directory."""

from __future__ import annotations

from aiohttp import web

from services.gateway.directory import RoomDirectory, RoomLister
from services.gateway.directory.filtered import Filter, FilteredPages
from services.gateway.follows.sets import FollowSets
from services.gateway.http.follow_answers import Category, CategoryList
from services.gateway.http.problems import unavailable
from services.gateway.http.requests import ListSort, check_category, parse_list_query
from services.gateway.http.serving import Route
from services.gateway.views.common import Caller


def _json(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")


class ListViews:
    def __init__(self, caller: Caller, directory: RoomDirectory, lister: RoomLister, filtered: FilteredPages,
                 follow_sets: FollowSets, categories: tuple[str, ...]) -> None:
        self._caller, self._directory, self._lister, self._filtered = caller, directory, lister, filtered
        self._follow_sets, self._categories = follow_sets, categories

    def routes(self) -> list[Route]:
        return [Route("GET", "/v1/rooms", self.list, quiet=True),
                Route("GET", "/v1/categories", self.categories, quiet=True)]

    async def list(self, request: web.Request) -> web.Response:
        """Live rooms, `sort=new` (default), `hot` or `near` (`lat`, `lng`); `cursor` for the next
        page; `following=true` for the anchors the viewer follows; `category=` for one category."""
        user = self._caller.user(request)
        query = parse_list_query(request)
        if query.category is not None:
            check_category(query.category, self._categories)
        if not self._directory.loaded:
            raise unavailable("the room directory is loading; retry shortly")
        if query.following or query.category is not None:
            anchors = None
            if query.following:
                held = self._follow_sets.on_air_if_held(user.user_id)
                anchors = held if held is not None else await self._follow_sets.on_air_of(user.user_id)
            only = Filter(query.category, anchors)
            if query.sort is ListSort.NEW:
                return _json(self._filtered.newest(query.limit, query.cursor, only))
            if query.sort is ListSort.HOT:
                return _json(self._filtered.hot(query.limit, query.cursor, only))
        if query.sort is ListSort.NEW:
            return _json(self._lister.newest(query.limit, query.cursor))
        if query.sort is ListSort.HOT:
            return _json(self._lister.hot(query.limit, query.cursor))
        assert query.lat is not None and query.lng is not None
        return _json(self._lister.near(query.lat, query.lng, query.limit, query.cursor, query.category))

    async def categories(self, request: web.Request) -> web.Response:
        self._caller.user(request)
        counts = self._directory.categories
        return CategoryList(categories=[Category(name=name, live=counts[name]) for name in self._categories]).response()
