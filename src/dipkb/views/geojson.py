"""A timeline as a GeoJSON FeatureCollection (RFC 7946), for map tools: one Point per event whose place
has coordinates (geo:lat and geo:long on the place, WGS84), ``[longitude, latitude]`` as the RFC
orders them.

Only the event's own place counts: a country is recorded without a point (kb/places.ttl says why),
and an event placed in one is left out rather than pinned to an arbitrary centroid.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dipkb.store.kb import KnowledgeBase
from dipkb.views.timeline import TimelineEntry

_COORDINATES_QUERY = "SELECT ?place ?lat ?long WHERE { VALUES ?place { %s } ?place geo:lat ?lat ; geo:long ?long }"


@dataclass(frozen=True)
class Point:
    longitude: float
    latitude: float


def coordinates(kb: KnowledgeBase, entries: Sequence[TimelineEntry]) -> dict[str, Point]:
    """The point of each entry's place that has one, by place IRI."""
    places = sorted({e.place.id for e in entries if e.place})
    points: dict[str, Point] = {}
    for row in kb.select_for_each(_COORDINATES_QUERY, places):
        try:
            point = Point(float(row["long"].value), float(row["lat"].value))
        except ValueError:
            continue
        # A map cannot place "NaN", "1e400" or a latitude of 91 (the shapes report each): left out
        # with the places that have no coordinates, rather than written as JSON no reader accepts.
        if -180 <= point.longitude <= 180 and -90 <= point.latitude <= 90:
            points.setdefault(row["place"].value, point)
    return points


@dataclass(frozen=True)
class FeatureCollection:
    document: dict
    unplaced: int  # events left out: no place, or a place without coordinates
    total: int

    @property
    def note(self) -> str | None:
        if not self.unplaced:
            return None
        return (f"{self.unplaced} of {self.total} events left out: they have no place with coordinates "
                "(geo:lat and geo:long).")


def feature_collection(kb: KnowledgeBase, entries: Sequence[TimelineEntry]) -> FeatureCollection:
    points = coordinates(kb, entries)
    features = [_feature(entry, points[entry.place.id]) for entry in entries
                if entry.place and entry.place.id in points]
    return FeatureCollection({"type": "FeatureCollection", "features": features},
                             len(entries) - len(features), len(entries))


def _feature(entry: TimelineEntry, point: Point) -> dict:
    listed = entry.as_dict()
    return {
        "type": "Feature",
        "id": listed["id"],
        "geometry": {"type": "Point", "coordinates": [point.longitude, point.latitude]},
        "properties": {name: listed[name] for name in ("id", "label", "date", "type", "modality", "place", "sources")},
    }
