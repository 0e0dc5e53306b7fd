"""Demo data for `make demo`: never loaded into a production database by anything else."""

from __future__ import annotations

from bot.context import Services


async def load_demo_data(services: Services) -> None:
    """Demo initiatives and a demo webinar (filled in as the capabilities land)."""
    return None
