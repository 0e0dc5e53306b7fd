"""Demo data for `make demo`; nothing else loads it, so it never reaches a production database."""

from __future__ import annotations

from pathlib import Path

from bot.context import Services
from handlers.initiatives import import_csv

DEMO_DIR = Path(__file__).resolve().parent.parent / "config" / "demo"


async def load_demo_data(services: Services) -> None:
    """The demo initiatives and a demo webinar."""
    await import_csv(services, (DEMO_DIR / "initiatives.csv").read_bytes(), skip_invalid=False)
