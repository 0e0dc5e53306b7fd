# initiative-bot developer tasks. Everything runs from the local virtualenv in .venv.

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint format demo bench eval clean

venv: $(STAMP)

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[test]'
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	if [ -f Dockerfile ]; then $(BIN)/hadolint Dockerfile; fi

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Unit and chat tests on every core, then the integration tests on two workers, each with its
# own Synapse and PostgreSQL (loadfile: a file's tests share state and run on one worker)
test: lint
	$(BIN)/pytest -q -n 2 tests --ignore=tests/integration
	$(BIN)/pytest -q -n 2 --dist loadfile tests/integration

demo: venv
	$(BIN)/initiative-bot demo

bench: venv
	set -e; for script in bench/*.py; do \
		[ -f "$$script" ] || continue; \
		echo "== $$script"; $(BIN)/python "$$script"; \
	done

# Q&A accuracy per register for every question set (dev, regression, holdout) and matching
# precision for both initiative sets; not part of `make test`: holdout sets are never tuned on.
eval: venv
	$(BIN)/python tests/eval_questions.py
	$(BIN)/python tests/eval_matching.py
	$(BIN)/python tests/eval_matching.py tests/data/matching/dev_unlisted/initiatives.csv tests/data/matching/dev_unlisted/clusters.yaml
	$(BIN)/python tests/eval_matching.py tests/data/matching/holdout/initiatives.csv tests/data/matching/holdout/clusters.yaml

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
