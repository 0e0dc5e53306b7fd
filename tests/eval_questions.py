"""Accuracy of the offerings Q&A on the question set, per register.

    python tests/eval_questions.py [--half tune|holdout|all] [--failures] [--file PATH]

In scope, "right" means the confident answer is the expected entry; "suggested" counts
questions where the expected entry is among the "Did you mean ...?" suggestions instead.
Out of scope, "right" means no confident answer (an honest fallback). The question set is
split into two fixed halves so thresholds can be tuned on one and checked on the other.
`--file` measures another question set in the same format: tests/data/questions_blind*.yaml
were each written from the report alone (never from the knowledge entries) and measured once
before anything was tuned on them; questions_dev_context.yaml holds longer messages with
sentences around the question. The newest blind set is kept for a final check only.
"""

from __future__ import annotations

import argparse
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.index import KnowledgeIndex, knowledge_vocabulary, load_knowledge
from bot.text.analyzer import Analyzer, load_synonyms

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "data" / "questions.yaml"
REGISTERS = ("de", "simple", "colloquial", "typo", "en", "out")


def build_index() -> KnowledgeIndex:
    entries, problems = load_knowledge(ROOT / "config" / "knowledge")
    if problems:
        raise SystemExit("\n".join(problems))
    synonyms = load_synonyms(ROOT / "config" / "synonyms.yaml")
    analyzer = Analyzer(synonyms, knowledge_vocabulary(entries))
    return KnowledgeIndex(entries, analyzer)


def in_half(question: str, half: str) -> bool:
    """A fixed split by a checksum of the question text."""
    if half == "all":
        return True
    tune = zlib.crc32(question.encode()) % 2 == 0
    return tune == (half == "tune")


Totals = dict[str, list[int]]  # register -> [right, suggested, count]


def score(index: KnowledgeIndex, questions: list[dict[str, Any]]) -> tuple[Totals, list[str]]:
    """Right, suggested and asked per register, and a line for each wrong answer."""
    totals: Totals = defaultdict(lambda: [0, 0, 0])
    failures: list[str] = []
    for item in questions:
        match = index.search(item["q"])
        expect = item["expect"]
        got = match.entry.id if match.entry else None
        suggested = [entry.id for entry in match.suggestions]
        counts = totals[item["register"]]
        counts[2] += 1
        if got == expect:
            counts[0] += 1
        elif expect is not None and expect in suggested:
            counts[1] += 1
        if got != expect:
            failures.append(
                f"  [{item['register']}] {item['q']!r}: expected {expect}, got {got} "
                f"(score {match.score:.2f}, suggestions {suggested})"
            )
    return totals, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("tune", "holdout", "all"), default="all")
    parser.add_argument("--failures", action="store_true", help="list the wrong answers")
    parser.add_argument("--file", type=Path, default=QUESTIONS, help="the question set (YAML)")
    args = parser.parse_args()

    questions = yaml.safe_load(args.file.read_text(encoding="utf-8"))
    totals, failures = score(build_index(), [q for q in questions if in_half(q["q"], args.half)])

    print(f"file: {args.file.name}, half: {args.half}")
    print(f"{'register':<12}{'right':>8}{'suggested':>11}{'count':>7}")
    scope = [0, 0, 0]
    for register in REGISTERS:
        right, suggested, count = totals[register]
        if not count:
            continue
        print(f"{register:<12}{right / count:>8.0%}{suggested / count:>11.0%}{count:>7}")
        if register != "out":
            scope = [scope[0] + right, scope[1] + suggested, scope[2] + count]
    if scope[2]:
        print(
            f"{'in scope':<12}{scope[0] / scope[2]:>8.0%}{scope[1] / scope[2]:>11.0%}{scope[2]:>7}"
        )
    if args.failures and failures:
        print("failures:")
        print("\n".join(failures))


if __name__ == "__main__":
    main()
