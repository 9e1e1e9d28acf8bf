"""Countries by name or code: ISO 3166-1 joined with CAMEO's country codes (countries.tsv, built by
scripts/build_country_table.py from pycountry; read here, so labels do not change with pycountry).

Two ways in. :meth:`CountryTable.find` reads what a person typed: a name (ISO's short, official or
common name, or another name datasets use; any case, accents optional), an ISO alpha-2 or alpha-3 code
or a CAMEO code. :meth:`CountryTable.of_actor` reads what a coded dataset gives for an actor, and is
the one rule both `import --country` and the reconciler's country links follow, so that the two
agree: the country field (a CAMEO code, or a country name for ICEWS), else the country part of a
CAMEO actor code (``GBRCOP`` is the United Kingdom's, ``IGOUNO`` nobody's).
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

TABLE = Path(__file__).with_name("countries.tsv")
_CODE = re.compile(r"^[A-Z]{3}(?:[A-Z]{3})*$")  # CAMEO actor codes are runs of three letters


@dataclass(frozen=True)
class Country:
    alpha3: str
    alpha2: str  # empty for a country ISO 3166-1 no longer lists (Netherlands Antilles)
    cameo: tuple[str, ...]  # the code datasets use first: ("ROM", "ROU") for Romania
    label: str
    names: tuple[str, ...]  # other names, for look-ups

    @property
    def codes(self) -> tuple[str, ...]:
        """Every code a dip:actorCode of this country's actor may hold."""
        return tuple(dict.fromkeys(self.cameo + (self.alpha3,)))


@functools.lru_cache(maxsize=1 << 16)  # the reconciler asks for every named actor of every row
def name_key(text: str) -> str:
    """``Côte d’Ivoire`` and ``cote d'ivoire`` are one key: accents, case, quotes, spacing dropped."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return " ".join("".join(ch for ch in text if not unicodedata.combining(ch)).casefold().split())


class CountryTable:
    def __init__(self, countries: list[Country]):
        self.countries = countries
        self.by_code: dict[str, Country] = {}  # CAMEO and alpha-3: codes datasets write
        self.by_alpha2: dict[str, Country] = {}
        self.by_name: dict[str, Country] = {}
        for country in countries:
            for code in country.codes:
                self.by_code[code] = country
            if country.alpha2:
                self.by_alpha2[country.alpha2] = country
            for name in (country.label, *country.names):
                self.by_name.setdefault(name_key(name), country)
        self._of_value: dict[str, Country | None] = {}

    def find(self, text: str) -> Country | None:
        """A country by name (any case), ISO alpha-2 or alpha-3 or CAMEO code (as codes are written:
        upper case, so that "in" or "no" typed as a word is not India or Norway)."""
        text = text.strip()
        if text.isupper() and text.isalpha():
            found = self.by_code.get(text) or self.by_alpha2.get(text)
            if found:
                return found
        return self.by_name.get(name_key(text))

    def of_value(self, value: str | None) -> Country | None:
        """The country a dataset field names: a country code, a CAMEO actor code starting with one, or
        a country name. Cached: a file has few distinct values and many rows."""
        if not value:
            return None
        if value not in self._of_value:
            text = value.strip()
            found = None
            if _CODE.match(text):
                found = self.by_code.get(text) or self.by_code.get(text[:3])
            self._of_value[value] = found or self.by_name.get(name_key(text))
        return self._of_value[value]

    def of_actor(self, code: str | None, country: str | None) -> Country | None:
        """An actor's country: its dataset's country field, else the country part of its CAMEO code."""
        return self.of_value(country) or self.of_value(code)


def _read(path: Path) -> list[Country]:
    countries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        alpha3, alpha2, cameo, label, names = line.split("\t")
        countries.append(Country(alpha3, alpha2, tuple(cameo.split("|")), label,
                                 tuple(n for n in names.split("|") if n)))
    return countries


@functools.cache
def country_table() -> CountryTable:
    return CountryTable(_read(TABLE))
