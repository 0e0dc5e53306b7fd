"""User-facing texts per language, from config/texts.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.core.messages import LANGS, Lang


class Texts:
    def __init__(self, table: dict[str, dict[str, str]]) -> None:
        self._table = table

    def get(self, key: str, lang: Lang, **values: Any) -> str:
        variants = self._table.get(key)
        if variants is None:
            raise KeyError(f"no text {key!r}")
        template = variants.get(lang) or variants["de"]
        return template.format(**values) if values else template


def load_texts(path: Path) -> tuple[Texts, list[str]]:
    """Texts plus problems found (missing German text, unknown language)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems = []
    table: dict[str, dict[str, str]] = {}
    for key, variants in data.items():
        if not isinstance(variants, dict) or "de" not in variants:
            problems.append(f"{path.name}: text {key!r} needs at least a 'de' version")
            continue
        unknown = set(variants) - set(LANGS)
        if unknown:
            problems.append(f"{path.name}: text {key!r} has unknown languages {sorted(unknown)}")
        table[key] = {k: str(v).rstrip("\n") for k, v in variants.items()}
    return Texts(table), problems
