"""Read and write the initiatives CSV: UTF-8, header name,region,topics,description,contact,website.

Parsing never raises on bad input: it returns the good rows with their line numbers and one
error per bad row (German and English), so an import can be all-or-nothing or skip bad rows.
Line numbers are physical lines of the file; the header is line 1.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.text.analyzer import spreadsheet_safe, spreadsheet_text
from storage.initiatives import InitiativeRow, name_key

COLUMNS = ("name", "region", "topics", "description", "contact", "website")

MAX_NAME = 200
MAX_REGION = 200
MAX_TOPIC = 100
MAX_TOPICS = 20
MAX_DESCRIPTION = 4000
MAX_URL = 500  # the database column's size

# Historical user-ID grammar: any printable ASCII except ":" in the localpart; the server
# name is a DNS name, IPv4 or [IPv6] with an optional port.
_MATRIX_ID = re.compile(
    r"@[!-9;-~]+:(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)
_MATRIX_TO = re.compile(r"https://matrix\.to/#/(@[^?/]+)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9-]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class RowError:
    line: int
    message_de: str
    message_en: str


def split_topics(text: str) -> tuple[str, ...]:
    """Topics separated by ";" (a "," also separates), trimmed, without repeats."""
    topics: dict[str, str] = {}
    for part in re.split(r"[;,]", text):
        topic = _SPACES.sub(" ", part).strip()
        if topic:
            topics.setdefault(topic.casefold(), topic)
    return tuple(topics.values())


def normalise_contact(text: str) -> str | None:
    """A contact as typed, trimmed; a matrix.to link becomes the Matrix ID; empty -> None."""
    text = text.strip()
    link = _MATRIX_TO.fullmatch(text)
    return (link.group(1) if link else text) or None


def is_matrix_id(text: str) -> bool:
    return len(text) <= 255 and _MATRIX_ID.fullmatch(text) is not None


def is_website(text: str) -> bool:
    """An absolute http(s) URL with a plausible host and no spaces."""
    if len(text) > MAX_URL or any(c.isspace() for c in text):
        return False
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    return host == "localhost" or ("." in host and _HOST.fullmatch(host) is not None)


def problems(row: InitiativeRow) -> list[tuple[str, str]]:
    """What is wrong with a row, as (German, English) messages; [] if it is fine."""
    found: list[tuple[str, str]] = []
    if not row.name.strip():
        found.append(("Name fehlt", "name is missing"))
    elif max(len(row.name), len(name_key(row.name))) > MAX_NAME:  # "ß" folds to "ss"
        found.append(
            (
                f"Name ist länger als {MAX_NAME} Zeichen",
                f"name is longer than {MAX_NAME} characters",
            )
        )
    for label_de, label_en, value in (
        ("Name", "name", row.name),
        ("Region", "region", row.region),
        ("Thema", "topic", " ".join(row.topics)),
    ):
        if _CONTROL.search(value) or "\n" in value or "\r" in value:
            found.append(
                (
                    f"{label_de} enthält Steuerzeichen oder Zeilenumbrüche",
                    f"{label_en} contains control characters or line breaks",
                )
            )
    if len(row.region) > MAX_REGION:
        found.append(
            (
                f"Region ist länger als {MAX_REGION} Zeichen",
                f"region is longer than {MAX_REGION} characters",
            )
        )
    if len(row.topics) > MAX_TOPICS:
        found.append((f"mehr als {MAX_TOPICS} Themen", f"more than {MAX_TOPICS} topics"))
    if any(len(topic) > MAX_TOPIC for topic in row.topics):
        found.append(
            (
                f"ein Thema ist länger als {MAX_TOPIC} Zeichen",
                f"a topic is longer than {MAX_TOPIC} characters",
            )
        )
    if len(row.description) > MAX_DESCRIPTION:
        found.append(
            (
                f"Beschreibung ist länger als {MAX_DESCRIPTION} Zeichen",
                f"description is longer than {MAX_DESCRIPTION} characters",
            )
        )
    if row.contact is not None and not is_matrix_id(row.contact):
        contact = row.contact[:80]
        found.append(
            (
                f"Kontakt „{contact}“ ist keine Matrix-ID wie @name:server.de",
                f"contact '{contact}' is not a Matrix ID like @name:server.org",
            )
        )
    if row.website is not None and not is_website(row.website):
        website = row.website[:80]
        found.append(
            (
                f"Webseite „{website}“ ist keine Adresse, die mit http:// oder https:// beginnt",
                f"website '{website}' is not an address starting with http:// or https://",
            )
        )
    return found


def validate_row(row: InitiativeRow, lang: str = "de") -> list[str]:
    """What is wrong with a row, in English for lang "en", else German; [] if fine."""
    return [en if lang == "en" else de for de, en in problems(row)]


def _error(line: int, found: list[tuple[str, str]]) -> RowError:
    return RowError(
        line,
        "; ".join(de for de, _ in found) + ".",
        "; ".join(en for _, en in found) + ".",
    )


def _decode(data: bytes) -> tuple[str | None, RowError | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return None, RowError(
            line,
            f"Die Datei ist nicht UTF-8-kodiert (erstes falsches Zeichen in Zeile {line}). "
            "Bitte als „CSV UTF-8“ speichern.",
            f"The file is not UTF-8 encoded (first bad character on line {line}). "
            "Please save it as 'CSV UTF-8'.",
        )


def _header_error(header: list[str]) -> RowError | None:
    names = [column.strip().casefold() for column in header]
    missing = [column for column in COLUMNS if column not in names]
    unknown = [column for column in header if column.strip().casefold() not in COLUMNS]
    repeated = sorted({column for column in names if names.count(column) > 1})
    if not (missing or unknown or repeated):
        return None
    de: list[str] = []
    en: list[str] = []
    if missing:
        de.append("es fehlen Spalten: " + ", ".join(missing))
        en.append("missing columns: " + ", ".join(missing))
    if unknown:
        de.append("unbekannte Spalten: " + ", ".join(unknown))
        en.append("unknown columns: " + ", ".join(unknown))
    if repeated:
        de.append("doppelte Spalten: " + ", ".join(repeated))
        en.append("repeated columns: " + ", ".join(repeated))
    hint_de = hint_en = ""
    if len(header) == 1 and ";" in header[0]:
        hint_de = " Die Spalten müssen durch Kommas getrennt sein, nicht durch Semikolons."
        hint_en = " Columns must be separated by commas, not semicolons."
    expected = ",".join(COLUMNS)
    return RowError(
        1,
        f"Kopfzeile: {'; '.join(de)}. Erwartet: {expected}.{hint_de}",
        f"Header: {'; '.join(en)}. Expected: {expected}.{hint_en}",
    )


def _row(fields: list[str], columns: list[str]) -> InitiativeRow:
    value = dict(zip(columns, map(spreadsheet_text, fields), strict=True))
    website = value["website"].strip()
    return InitiativeRow(
        name=_SPACES.sub(" ", value["name"]).strip(),
        region=_SPACES.sub(" ", value["region"]).strip(),
        topics=split_topics(value["topics"]),
        description=value["description"].strip(),
        contact=normalise_contact(value["contact"]),
        website=website or None,
    )


def parse_initiatives_csv(
    data: bytes,
) -> tuple[list[tuple[int, InitiativeRow]], list[RowError]]:
    """Good rows with their line numbers, and one error per bad row (or for the file)."""
    text, error = _decode(data)
    if text is None:
        return [], [error] if error else []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, InitiativeRow]] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    columns: list[str] | None = None
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as problem:
            errors.append(_csv_error(line, str(problem)))
            break
        if not any(field.strip() for field in fields):
            continue
        if columns is None:
            header_error = _header_error(fields)
            if header_error is not None:
                return [], [header_error]
            columns = [column.strip().casefold() for column in fields]
            continue
        if len(fields) != len(columns):
            errors.append(_count_error(line, len(fields), len(columns)))
            continue
        row = _row(fields, columns)
        found = problems(row)
        key = name_key(row.name)
        if key and key in first_line:
            earlier = first_line[key]
            found.append(
                (
                    f"Name „{row.name}“ steht schon in Zeile {earlier}",
                    f"name '{row.name}' already appears on line {earlier}",
                )
            )
        if found:
            errors.append(_error(line, found))
            continue
        first_line[key] = line
        rows.append((line, row))
    if columns is None:
        return [], [
            RowError(
                1,
                "Die Datei ist leer; erwartet wird die Kopfzeile " + ",".join(COLUMNS) + ".",
                "The file is empty; expected the header " + ",".join(COLUMNS) + ".",
            )
        ]
    return rows, errors


def _csv_error(line: int, problem: str) -> RowError:
    return RowError(
        line,
        f"Die CSV-Struktur ist kaputt ({problem}); z. B. ein Anführungszeichen ohne Ende. "
        "Ab hier wurde nichts mehr gelesen.",
        f"The CSV structure is broken ({problem}), e.g. an unclosed quote. "
        "Nothing after this point was read.",
    )


def _count_error(line: int, found: int, expected: int) -> RowError:
    return RowError(
        line,
        f"{found} Felder statt {expected}. Felder mit Komma müssen in Anführungszeichen stehen.",
        f"{found} fields instead of {expected}. Fields containing commas must be quoted.",
    )


def write_initiatives_csv(rows: Iterable[InitiativeRow]) -> str:
    """The CSV text for rows, in the same format `parse_initiatives_csv` reads."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        cells = (
            row.name,
            row.region,
            ";".join(row.topics),
            row.description,
            row.contact or "",
            row.website or "",
        )
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
    return out.getvalue()
