"""Recognising the Bundesland from region text."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.initiatives.regions import Regions, bundesland_of, load_regions, shipped_regions


@pytest.mark.parametrize(
    ("region", "land"),
    [
        ("Chemnitz", "Sachsen"),
        ("Aachen, NRW", "Nordrhein-Westfalen"),
        ("Eichsfeld", "Thüringen"),
        ("Wiesbaden", "Hessen"),
        ("Bonn", "Nordrhein-Westfalen"),
        ("Ruhrgebiet", "Nordrhein-Westfalen"),
        ("Stuttgart, BW", "Baden-Württemberg"),
        ("Landkreis Eichsfeld (Thüringen)", "Thüringen"),
        ("Frankfurt (Oder)", "Brandenburg"),
        ("Frankfurt am Main", "Hessen"),
        ("Halle (Saale)", "Sachsen-Anhalt"),
        ("Sachsen-Anhalt", "Sachsen-Anhalt"),
        ("Niedersachsen", "Niedersachsen"),
        ("Bavaria", "Bayern"),
        ("Thuringia", "Thüringen"),
        ("thueringen", "Thüringen"),
        ("Mecklenburg-Vorpommern", "Mecklenburg-Vorpommern"),
        ("Rostock, MV", "Mecklenburg-Vorpommern"),
        ("Görlitz, Lausitz", "Sachsen"),
        ("St. Ingbert", "Saarland"),
        ("Berlin", "Berlin"),
        ("Bremerhaven", "Bremen"),
        ("Hamburg-Harburg", "Hamburg"),
        ("Kiel", "Schleswig-Holstein"),
        ("Ludwigshafen am Rhein", "Rheinland-Pfalz"),
        ("Cottbus", "Brandenburg"),
    ],
)
def test_bundesland_is_recognised(region: str, land: str) -> None:
    assert bundesland_of(region) == land


@pytest.mark.parametrize("region", ["Lausitz", "Harz", "", "bundesweit", "by the river"])
def test_unknown_or_ambiguous_region_has_no_single_land(region: str) -> None:
    assert bundesland_of(region) is None


def test_area_across_borders_names_every_land() -> None:
    assert shipped_regions().laender_of("Lausitz") == ("Brandenburg", "Sachsen")


def test_two_letter_codes_count_only_in_capitals_inside_text() -> None:
    regions = shipped_regions()
    assert regions.bundesland_of("Augsburg, BY") == "Bayern"
    assert regions.laender_of("made by hand") == ()
    assert regions.land_named("by") == "Bayern"  # a search for just "by"


def test_shipped_data_covers_all_sixteen_laender() -> None:
    names = {land.name for land in shipped_regions().laender}
    assert len(names) == 16
    assert {"Bremen", "Saarland", "Thüringen", "Schleswig-Holstein"} <= names


def test_custom_regions_are_used_when_given() -> None:
    regions = Regions(())
    assert bundesland_of("Chemnitz", regions) is None


def test_broken_regions_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "regions.yaml"
    path.write_text("laender:\n  - names: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="official name"):
        load_regions(path)
