"""Evaluate matching quality: precision@3 on an initiatives file with known clusters.

    python tests/eval_matching.py [INITIATIVES.csv CLUSTERS.yaml] [--verbose]

For each initiative, the share of its 3 most similar initiatives that lie in its own cluster;
for each free-text query, the share of its 3 best hits in the expected cluster. Defaults to
tests/data/matching/initiatives.csv and clusters.yaml.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import yaml

from bot.initiatives.csv_io import parse_initiatives_csv
from bot.initiatives.matcher import SHIPPED_TOPICS, Matcher, load_taxonomy, taxonomy_vocabulary
from bot.initiatives.regions import shipped_regions
from bot.text.analyzer import Analyzer, load_synonyms
from bot.text.lexicon import load_lexicon
from config import CONFIG_DIR

LEXICON = load_lexicon(CONFIG_DIR / "lexicon")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "matching"
K = 3


@dataclass(frozen=True)
class Result:
    similar: float
    query: float
    misses: list[str]


def build_matcher(initiatives: Path) -> Matcher:
    taxonomy = load_taxonomy(SHIPPED_TOPICS)
    synonyms = load_synonyms(ROOT / "config" / "synonyms.yaml")
    analyzer = Analyzer(synonyms, LEXICON, taxonomy_vocabulary(taxonomy))
    rows, errors = parse_initiatives_csv(initiatives.read_bytes())
    if errors:
        raise SystemExit(f"{initiatives}: {errors[0].line}: {errors[0].problems}")
    return Matcher((row for _, row in rows), analyzer, taxonomy, shipped_regions())


def evaluate(initiatives: Path, clusters_file: Path) -> Result:
    matcher = build_matcher(initiatives)
    spec = yaml.safe_load(clusters_file.read_text(encoding="utf-8"))
    cluster_of = {name: key for key, names in spec["clusters"].items() for name in names}
    misses: list[str] = []
    similar: list[float] = []
    for name, cluster in cluster_of.items():
        hits = matcher.similar(name, K)
        good = [hit for hit in hits if cluster_of.get(hit.name) == cluster]
        similar.append(len(good) / K)
        if len(good) < K:
            got = ", ".join(f"{h.name} [{cluster_of.get(h.name)}] {h.score:.2f}" for h in hits)
            misses.append(f"similar {name} [{cluster}]: {got}")
    queries: list[float] = []
    for item in spec.get("queries", []):
        hits = matcher.query(item["text"], K)
        good = [hit for hit in hits if cluster_of.get(hit.name) == item["cluster"]]
        queries.append(len(good) / K)
        if len(good) < K:
            got = ", ".join(f"{h.name} [{cluster_of.get(h.name)}] {h.score:.2f}" for h in hits)
            misses.append(f"query {item['text']!r} [{item['cluster']}]: {got}")
    return Result(
        similar=sum(similar) / len(similar),
        query=sum(queries) / len(queries) if queries else 1.0,
        misses=misses,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--verbose", action="store_true", help="list every imperfect ranking")
    args = parser.parse_args(argv)
    initiatives, clusters = args.files or [
        DATA / "initiatives.csv",
        DATA / "clusters.yaml",
    ]
    result = evaluate(initiatives, clusters)
    for line in chain(result.misses if args.verbose else ()):
        print(line)
    print(f"precision@{K} similar initiatives: {result.similar:.3f}")
    print(f"precision@{K} free-text queries:   {result.query:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
