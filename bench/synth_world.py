"""The synthetic world of bench/generate.py: ~200 states with their bodies, office holders and
places, armed groups, media and analysts, plus the draw and literal helpers all generator modules use.

Deterministic: every draw goes through Dice, seeded with a string, and no set is ever iterated."""
from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import date

NS = {"dip": "https://w3id.org/dipkb/ontology#", "actor": "https://w3id.org/dipkb/kb/actor/",
      "event": "https://w3id.org/dipkb/kb/event/", "place": "https://w3id.org/dipkb/kb/place/",
      "source": "https://w3id.org/dipkb/kb/source/", "position": "https://w3id.org/dipkb/kb/position/",
      "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "skos": "http://www.w3.org/2004/02/skos/core#",
      "dct": "http://purl.org/dc/terms/", "geo": "http://www.w3.org/2003/01/geo/wgs84_pos#",
      "xsd": "http://www.w3.org/2001/XMLSchema#"}
SYLLABLES = ("ka ro va len dor mar tis qua bel sun or zan kel vor ith ul ra mon tes gar lis no pe dra ven sol "
             "tar xan yor em ba cor fi ga hol ja ny pol ru ste").split()
FIRST_NAMES = ("Amir Lena Tomas Nadia Karim Ilse Oren Sofia Dmitri Aylin Rafael Mei Jonas Farah Viktor Ines "
               "Kofi Hana Milan Zara Pavel Leyla Anton Yara Emil Noor Luca Daria Omar Elif Ivo Selin Marek "
               "Amara Tarik Vera Idris Katya Nils Samira").split()


def lit(text: str, lang: str = "en") -> str:
    """A language-tagged literal; the escapes are the same in Turtle and N-Triples."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"@' + lang


def typed(lexical: str, datatype: str) -> str:
    return f'"{lexical}"^^xsd:{datatype}'


def iso(day: int) -> str:
    return date.fromordinal(day).isoformat()


def month_bounds(day: int) -> tuple[int, int]:
    d = date.fromordinal(day)
    first = d.replace(day=1)
    following = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return first.toordinal(), following.toordinal() - 1


class Dice(random.Random):
    """Draws built on random() alone, whose sequence Python keeps stable across versions
    (randrange and choices have changed their algorithms before)."""

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def pick(self, seq):
        return seq[int(self.random() * len(seq))]

    def chance(self, p: float) -> bool:
        return self.random() < p

    def weighted(self, table: tuple[list, list[float]]):
        items, cumulative = table
        return items[bisect.bisect_right(cumulative, self.random() * cumulative[-1])]


def table(pairs) -> tuple[list, list[float]]:
    items, cumulative, total = [], [], 0.0
    for item, weight in pairs:
        total += weight
        items.append(item)
        cumulative.append(total)
    return items, cumulative


# --------------------------------------------------------------------------------------------- world

@dataclass(frozen=True)
class Actor:
    iri: str
    label: str
    short: str  # the name used inside other labels


@dataclass
class Kit:
    """One state with its bodies, office holders and places (indices into World.actors/places)."""

    state: int
    body: dict[str, int] = field(default_factory=dict)  # fm, gov, mil, head, fmin, dmin, spok
    country: str = ""
    cities: list[str] = field(default_factory=list)  # capital first
    region: str = ""
    base: str = ""


@dataclass
class World:
    actors: list[Actor]
    kits: list[Kit]
    groups: list[tuple[int, int, int]]  # (armed group, its spokesman, the state it fights in)
    media: list[int]
    analysts: list[int]
    place_labels: dict[str, str]
    zipf: tuple[list, list[float]]
    actors_ttl: list[tuple[str, list[tuple[str, str]]]]
    places_ttl: list[tuple[str, list[tuple[str, str]]]]


def build_world(seed: str, n_states: int = 200) -> World:
    """~200 states (Zipf-popular), their ministries, forces and office holders with positions,
    armed groups, media and analysts; each state's country, cities with coordinates, region, base."""
    rng = Dice(f"dipkb-world-{seed}")
    used: set[str] = set()  # lower-cased names: labels must resolve to one actor

    def name(parts: int) -> str:
        tries = 0
        while True:  # 40 syllables give only 1,600 two-syllable names: lengthen the name when they run out
            text = "".join(rng.pick(SYLLABLES) for _ in range(parts + tries // 20)).capitalize()
            tries += 1
            if text.lower() not in used and len(text) > 3:
                used.add(text.lower())
                return text

    w = World([], [], [], [], [], {}, table((i, 1.0 / (i + 1)) for i in range(n_states)), [], [])

    def actor(slug: str, cls: str, label: str, short: str = "", *props) -> int:
        w.actors.append(Actor(f"actor:syn-{slug}", label, short or label))
        w.actors_ttl.append((f"actor:syn-{slug}", [("a", f"dip:{cls}"), ("rdfs:label", lit(label)), *props]))
        return len(w.actors) - 1

    def place(slug: str, cls: str, label: str, *props) -> str:
        w.place_labels[f"place:syn-{slug}"] = label
        w.places_ttl.append((f"place:syn-{slug}", [("a", f"dip:{cls}"), ("rdfs:label", lit(label)), *props]))
        return f"place:syn-{slug}"

    offices = [("head", "President"), ("fmin", "Foreign Minister"), ("dmin", "Defence Minister"),
               ("spok", "Foreign Ministry spokesperson")]
    for i in range(n_states):
        short = name(2 + rng.below(2))
        slug, adjective = short.lower(), short + ("ian" if short[-1] not in "aeiou" else "n")
        form = rng.pick(["Republic of {}", "Kingdom of {}", "Federation of {}", "{}", "{}", "{}"])
        capital = name(2 + rng.below(2))
        alt = [("skos:altLabel", lit(short))] if form != "{}" else []
        kit = Kit(actor(slug, "State", form.format(short), short, *alt, ("skos:altLabel", lit(capital))))
        sid = w.actors[kit.state].iri
        kit.body["fm"] = actor(f"{slug}-foreign-ministry", "GovernmentBody", f"{adjective} Foreign Ministry",
                               "", ("dip:actsFor", sid))
        kit.body["gov"] = actor(f"{slug}-government", "GovernmentBody", f"Government of {short}", "",
                                ("dip:actsFor", sid))
        kit.body["mil"] = actor(f"{slug}-armed-forces", "ArmedForce", f"{adjective} Armed Forces", "",
                                ("dip:actsFor", sid))
        year = typed(str(2000 + rng.below(25)), "gYear")
        for key, title in offices:
            person = f"{rng.pick(FIRST_NAMES)} {name(2)}"
            pos = f"position:syn-{slug}-{key}"
            kit.body[key] = actor(f"{slug}-{key}", "Person", person, "",
                                  ("dip:actsFor", sid), ("dip:holdsPosition", pos))
            w.actors_ttl.append((pos, [("a", "dip:Position"), ("rdfs:label", lit(f"{person}, {title} of {short}")),
                                       ("dip:positionTitle", lit(title)), ("dip:positionFor", sid),
                                       ("dip:attestedAt", year)]))
        lat, lon = -45 + rng.random() * 105, -170 + rng.random() * 340
        kit.country = place(slug, "Country", short, ("dip:territoryOf", sid))

        def point() -> list[tuple[str, str]]:
            return [("dip:inCountry", kit.country),
                    ("geo:lat", typed(f"{lat + rng.random() * 5 - 2.5:.4f}", "decimal")),
                    ("geo:long", typed(f"{lon + rng.random() * 5 - 2.5:.4f}", "decimal"))]
        for n, city in enumerate([capital, name(2), name(3)]):
            kit.cities.append(place(f"{slug}-city-{n}", "Place", city, *point()))
        kit.region = place(f"{slug}-north", "Place", f"northern {short}", ("dip:inCountry", kit.country))
        kit.base = place(f"{slug}-base", "Place", f"{adjective} military base at {name(2)}", *point())
        w.kits.append(kit)
    for i in range(60):  # armed groups gather where the popular (conflict-prone) states are
        home = rng.weighted(w.zipf)
        label = rng.pick(["{} Liberation Front", "People's Army of {}", "{} Resistance Movement"]).format(name(2))
        group = actor(f"group-{i:02d}", "ArmedGroup", label)
        spokesman = actor(f"group-{i:02d}-spokesman", "Person", f"{rng.pick(FIRST_NAMES)} {name(2)}", "",
                          ("dip:actsFor", w.actors[group].iri))
        w.groups.append((group, spokesman, home))
    for i in range(40):
        outlet = name(2)
        w.media.append(actor(f"media-{i:02d}", "MediaOrganisation",
                             rng.pick(["{} Herald", "{} Daily", "{} News Agency", "Radio {}"]).format(outlet)))
    for i in range(30):
        w.analysts.append(actor(f"analyst-{i:02d}", "Person", f"{rng.pick(FIRST_NAMES)} {name(2)}", "",
                                ("dip:actsFor", w.actors[rng.pick(w.media)].iri)))
    return w
