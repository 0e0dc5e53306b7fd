"""Demo data for `make demo`; nothing else loads it, so it never reaches a production database."""

from __future__ import annotations

from datetime import timedelta

from bot.initiatives.csv_import import import_csv
from bot.services import Services
from config import CONFIG_DIR
from storage.models import CalendarEvent

DEMO_DIR = CONFIG_DIR / "demo"


async def load_demo_data(services: Services) -> None:
    """The demo initiatives and a demo webinar a few minutes ahead (reminders come quickly)."""
    await import_csv(services, (DEMO_DIR / "initiatives.csv").read_bytes(), skip_invalid=False)
    start = services.clock().replace(second=0, microsecond=0) + timedelta(minutes=7)
    async with services.db.transaction() as session:
        session.add(
            CalendarEvent(
                kind="webinar",
                title="Demo-Webinar: Wasserstoff in der Region",
                description="Wie Initiativen Wasserstoffprojekte vor Ort voranbringen.",
                link="https://example.org/webinar-wasserstoff",
                starts_at=start,
                minutes=15,
                created_by="@koordination:localhost",
            )
        )
