"""The question sets of tests/data/questions/regression keep their accuracy, measured as a
member meets it: through the real dispatcher, with the shipped data (tests/eval_questions.py)."""

from __future__ import annotations

import pytest
import yaml

from bot.app import build_dispatcher
from bot.services import Services
from tests.eval_questions import QUESTIONS, score_set

REGRESSION = QUESTIONS / "regression"
MANIFEST = yaml.safe_load((REGRESSION / "manifest.yaml").read_text(encoding="utf-8"))


def test_every_regression_set_is_in_the_manifest() -> None:
    assert {path.name for path in REGRESSION.glob("*.yaml")} - {"manifest.yaml"} == set(MANIFEST)


@pytest.mark.parametrize("name", sorted(MANIFEST))
async def test_question_set_keeps_its_accuracy(services: Services, name: str) -> None:
    items = yaml.safe_load((REGRESSION / name).read_text(encoding="utf-8"))
    result = await score_set(build_dispatcher(services, flood=False), items)
    report = "\n".join([*result.lines(), *result.misses])
    assert result.in_scope >= MANIFEST[name]["in_scope"], report
    assert result.honest >= MANIFEST[name]["honest"], report
