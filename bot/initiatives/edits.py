"""What the chat commands change in a directory entry: the row `!initiative anlegen` gives,
the one field `!initiative bearbeiten` edits, and who may edit."""

from __future__ import annotations

from bot.initiatives.csv_io import split_topics
from storage.initiatives import InitiativeRow

EDITABLE = ("region", "topics", "description", "contact", "website")
FIELD_ALIASES = {
    "region": "region",
    "themen": "topics",
    "topics": "topics",
    "beschreibung": "description",
    "description": "description",
    "kontakt": "contact",
    "contact": "contact",
    "webseite": "website",
    "website": "website",
}


def new_row(spec: str) -> InitiativeRow | None:
    """`NAME | REGION | TOPIC; TOPIC | DESCRIPTION [| CONTACT] [| WEBSITE]` as a row; None when
    the parts do not fit."""
    parts = [p.strip() for p in spec.split("|")]
    if len(parts) < 4 or len(parts) > 6:
        return None
    parts += [""] * (6 - len(parts))
    return InitiativeRow(
        name=parts[0],
        region=parts[1],
        topics=split_topics(parts[2]),
        description=parts[3],
        contact=parts[4] or None,
        website=parts[5] or None,
    )


def parse_edit(spec: str) -> tuple[str, str, str] | None:
    """`NAME | FIELD=VALUE` as (name, attribute, value); None without a name or an editable
    field (German or English field names)."""
    name, _, change = spec.partition("|")
    field, _, value = change.partition("=")
    attribute = FIELD_ALIASES.get(field.strip().lower())
    if not name.strip() or attribute is None:
        return None
    return name.strip(), attribute, value.strip()


def edited(row: InitiativeRow, attribute: str, value: str) -> InitiativeRow:
    """`row` with one attribute set to `value` (an empty contact or website: none)."""
    return InitiativeRow(
        name=row.name,
        region=value if attribute == "region" else row.region,
        topics=split_topics(value) if attribute == "topics" else row.topics,
        description=value if attribute == "description" else row.description,
        contact=(value or None) if attribute == "contact" else row.contact,
        website=(value or None) if attribute == "website" else row.website,
    )


def may_edit(contact: str | None, user: str, *, coordinator: bool) -> bool:
    """Coordinators edit every entry, anyone else only the one naming them as its contact."""
    return coordinator or contact == user
