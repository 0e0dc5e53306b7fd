"""The message catalogue (config/texts.yaml) is complete, consistent with the code, and its
Leichte Sprache texts keep to the rules a reader of Leichte Sprache relies on."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.app import routers
from bot.core.commands import CommandTable
from bot.core.i18n import Texts, load_texts, placeholders
from bot.knowledge.details import load_details
from bot.knowledge.index import COUNT
from config import CONFIG_DIR
from config.settings import LANGS

ROOT = Path(__file__).resolve().parents[2]
CODE = [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/*.py")]
# how code names a text: ctx.t / texts.get / texts.plain with the key first (the report's
# Words.t adds "report.")
_CALLS = ("t", "get", "plain", "template")
_NOT_SENTENCES = (".args", ".example")  # what is typed, not read

# Leichte Sprache: short sentences, one statement each (checked per sentence and per text)
MAX_WORDS = 15
MAX_AVERAGE = 10.0
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+|\n+")


@pytest.fixture(scope="module")
def texts() -> Texts:
    loaded, problems = load_texts(CONFIG_DIR / "texts.yaml")
    assert problems == []
    return loaded


def _variants(texts: Texts, key: str) -> dict[str, list[str]]:
    """Each register's templates (several for a text with plural forms)."""
    found = {}
    for lang, variant in texts.variants(key).items():
        found[lang] = list(variant.values()) if isinstance(variant, dict) else [variant]
    return found


def test_every_text_is_written_in_every_register(texts: Texts) -> None:
    missing = [
        f"{key} ({lang})"
        for key in texts.keys()
        for lang in LANGS
        if not any(t.strip() for t in _variants(texts, key).get(lang, []))
    ]
    assert missing == []


def test_every_register_fills_the_same_placeholders(texts: Texts) -> None:
    wrong = []
    for key in texts.keys():
        variants = _variants(texts, key)
        wanted = placeholders(variants["de"][0])
        for lang, templates in variants.items():
            wrong += [f"{key} ({lang})" for t in templates if placeholders(t) != wanted]
    assert wrong == []


def _keys_in_code() -> tuple[set[str], set[str]]:
    """Keys the code names literally, and the prefixes of keys it builds (f"events.kind.{…}")."""
    literal, prefixes = set(), set()
    for path in CODE:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in _CALLS or not node.args:
                continue
            owner = node.func.value
            named = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if node.func.attr == "get" and named != "texts":
                continue  # a dict's get
            prefix = ""
            if isinstance(owner, ast.Name) and owner.id in ("w", "words", "self"):
                prefix = "report." if "reports" in path.parts else ""
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                literal.add(prefix + first.value)
            elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                prefixes.add(prefix + str(first.values[0].value))
    return literal, prefixes


def test_every_key_the_code_uses_exists(texts: Texts) -> None:
    literal, prefixes = _keys_in_code()
    known = set(texts.keys())
    dotted = {key for key in literal if "." in key and " " not in key}
    assert sorted(dotted - known) == []
    assert sorted(p for p in prefixes if not any(k.startswith(p) for k in known)) == []


def test_every_kind_of_unknown_detail_can_be_said(texts: Texts) -> None:
    kinds = load_details(CONFIG_DIR / "lexicon" / "details.yaml").kinds | {COUNT}
    assert sorted(k for k in kinds if texts.template(f"offerings.missing.{k}", "de") is None) == []


def test_every_command_has_its_help_texts(texts: Texts) -> None:
    missing = []
    for command in CommandTable(routers()).commands:
        wanted = [command.key]
        if command.args:
            wanted += [command.key + ".args", command.key + ".example"]
        missing += [key for key in wanted if texts.template(key, "de") is None]
    assert missing == []


def _sentences(text: str) -> list[list[str]]:
    plain = re.sub(r"\{[^}]*\}", "X", text)  # a placeholder counts as one word
    plain = re.sub(r"`[^`]*`|https?://\S+|!\S+", "X", plain)  # commands and links too
    return [s.split() for s in _SENTENCE_END.split(plain) if s.split()]


def test_leichte_sprache_texts_keep_their_sentences_short(texts: Texts) -> None:
    too_long = []
    for key in texts.keys():
        if key.endswith(_NOT_SENTENCES):
            continue
        for text in _variants(texts, key)["de-simple"]:
            sentences = _sentences(text)
            if not sentences:
                continue
            longest = max(len(s) for s in sentences)
            average = sum(len(s) for s in sentences) / len(sentences)
            if longest > MAX_WORDS or average > MAX_AVERAGE:
                too_long.append(f"{key}: longest {longest}, average {average:.1f}")
    assert too_long == []


def test_leichte_sprache_texts_use_plain_words(texts: Texts) -> None:
    """No abbreviations, no switching to "du", no semicolons."""
    bad = re.compile(r"\bz\. ?B\.|\bu\. ?a\.|\bggf\.|\bbzw\.|\bdu\b|\bdein|\bdir\b|;", re.I)
    found = [
        key
        for key in texts.keys()
        if not key.endswith(_NOT_SENTENCES)
        for text in _variants(texts, key)["de-simple"]
        if bad.search(re.sub(r"\{[^}]*\}|`[^`]*`", "", text))
    ]
    assert found == []
