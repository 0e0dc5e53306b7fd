"""Settings and the shipped data files (knowledge base, texts, topics, regions, demo data)."""

from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).resolve().parent

# libyaml's parser where PyYAML was built with it (the wheels are): the data files are read at
# every start, and the pure-Python parser takes most of a second for them
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """A data file's content (safe YAML: plain data, no Python objects)."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
