"""Recognise German Länder (Bundesländer) and places in free region text.

"Chemnitz" lies in Sachsen, "Aachen, NRW" in Nordrhein-Westfalen, "Eichsfeld" in Thüringen.
The data (names, abbreviations, codes, places) lives in config/regions.yaml.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

from bot.text.analyzer import fold
from config import CONFIG_DIR, read_yaml

SHIPPED_REGIONS = CONFIG_DIR / "regions.yaml"

_WORD = re.compile(r"[^\W_]+")

Kind = Literal["land", "place"]


@dataclass(frozen=True)
class Land:
    name: str  # the official German name, shown to users
    names: tuple[str, ...]
    abbreviations: tuple[str, ...]
    codes: tuple[str, ...]
    places: tuple[str, ...]


@dataclass(frozen=True)
class RegionMatch:
    """A Land or place found in a text: word positions [start, end) and where it lies."""

    start: int
    end: int
    kind: Kind
    key: str  # the folded words that matched, e.g. "frankfurt oder"
    laender: tuple[str, ...]


@dataclass(frozen=True)
class _Entry:
    kind: Kind
    laender: tuple[str, ...]
    upper_only: bool


def _loose(word: str) -> str:
    """Umlauts without dots ("Thuringen"), as typed on keyboards without them."""
    return fold("".join(c for c in unicodedata.normalize("NFD", word) if c != "\u0308"))


def words(text: str) -> list[str]:
    """The folded words of a text ("Frankfurt (Oder)" -> ["frankfurt", "oder"])."""
    return [fold(word) for word in _WORD.findall(text)]


class Regions:
    """Lookup of Länder and places; built from config/regions.yaml by `load_regions`."""

    def __init__(self, laender: Iterable[Land]) -> None:
        self.laender: tuple[Land, ...] = tuple(laender)
        # first folded word -> [(all folded words, entry)], longest phrases first
        self._phrases: dict[str, list[tuple[tuple[str, ...], _Entry]]] = {}
        places: dict[tuple[str, ...], list[str]] = {}
        for land in self.laender:
            for name in (*land.names, *land.abbreviations):
                self._add(name, _Entry("land", (land.name,), upper_only=False))
            for code in land.codes:
                self._add(code, _Entry("land", (land.name,), upper_only=True))
            for place in land.places:
                for key in self._keys(place):
                    places.setdefault(key, [])
                    if land.name not in places[key]:
                        places[key].append(land.name)
        for key, owners in places.items():
            self._phrases.setdefault(key[0], []).append(
                (key, _Entry("place", tuple(owners), upper_only=False))
            )
        for options in self._phrases.values():
            options.sort(key=lambda option: -len(option[0]))
        self._named = {
            key: land.name
            for land in self.laender
            for phrase in (*land.names, *land.abbreviations, *land.codes)
            for key in self._keys(phrase)
        }

    @staticmethod
    def _keys(phrase: str) -> set[tuple[str, ...]]:
        keys = {tuple(words(phrase)), tuple(_loose(w) for w in _WORD.findall(phrase))}
        return {key for key in keys if key}

    def _add(self, phrase: str, entry: _Entry) -> None:
        for key in self._keys(phrase):
            self._phrases.setdefault(key[0], []).append((key, entry))

    def find(self, text: str) -> list[RegionMatch]:
        """Every Land and place named in the text, left to right, longest names first."""
        raw = _WORD.findall(text)
        folded = [fold(word) for word in raw]
        found: list[RegionMatch] = []
        position = 0
        while position < len(folded):
            match = self._match_at(raw, folded, position)
            if match is None:
                position += 1
            else:
                found.append(match)
                position = match.end
        return found

    def _match_at(self, raw: list[str], folded: list[str], position: int) -> RegionMatch | None:
        for key, entry in self._phrases.get(folded[position], ()):
            end = position + len(key)
            if tuple(folded[position:end]) != key:
                continue
            if entry.upper_only and not all(w.isupper() for w in raw[position:end]):
                continue
            return RegionMatch(position, end, entry.kind, " ".join(key), entry.laender)
        return None

    def laender_of(self, text: str) -> tuple[str, ...]:
        """The Länder a region text points to: those it names, else those its places share.

        "Görlitz" -> ("Sachsen",); "Lausitz" -> ("Brandenburg", "Sachsen");
        "Görlitz, Lausitz" -> ("Sachsen",); nothing recognised -> ().
        """
        matches = self.find(text)
        named = [m.laender[0] for m in matches if m.kind == "land"]
        if named:
            return tuple(dict.fromkeys(named))
        places = [m.laender for m in matches]
        if not places:
            return ()
        common = [land for land in places[0] if all(land in owners for owners in places[1:])]
        if common:
            return tuple(common)
        return tuple(dict.fromkeys(land for owners in places for land in owners))

    def bundesland_of(self, text: str) -> str | None:
        """The one Land a region text lies in, or None when unknown or ambiguous."""
        laender = self.laender_of(text)
        return laender[0] if len(laender) == 1 else None

    def land_named(self, text: str) -> str | None:
        """The Land a text consists of ("NRW", "bw", "Bavaria"), else None.

        Unlike `find`, a lone two-letter code counts in any case: a search for "by" is
        meant as Bayern when nothing else is typed.
        """
        return self._named.get(tuple(words(text)))


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{where}: expected a list of names")
    return tuple(v.strip() for v in value)


def load_regions(path: Path) -> Regions:
    """Read config/regions.yaml; raise ValueError naming the file and what is wrong."""
    try:
        data = read_yaml(path)
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: cannot read regions: {error}") from error
    items = data.get("laender") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path}: expected a non-empty list 'laender'")
    laender: list[Land] = []
    for number, item in enumerate(items, start=1):
        where = f"{path}: land {number}"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected a mapping")
        names = _strings(item.get("names"), f"{where}: names")
        if not names:
            raise ValueError(f"{where}: 'names' needs at least the official name")
        laender.append(
            Land(
                name=names[0],
                names=names,
                abbreviations=_strings(item.get("abbreviations"), f"{where}: abbreviations"),
                codes=_strings(item.get("codes"), f"{where}: codes"),
                places=_strings(item.get("places"), f"{where}: places"),
            )
        )
    return Regions(laender)


@cache
def shipped_regions() -> Regions:
    """The regions shipped with the bot, read once on first use."""
    return load_regions(SHIPPED_REGIONS)


def bundesland_of(region: str, regions: Regions | None = None) -> str | None:
    """The Land of a region text ("Chemnitz" -> "Sachsen"); None if unknown or ambiguous."""
    return (regions or shipped_regions()).bundesland_of(region)
