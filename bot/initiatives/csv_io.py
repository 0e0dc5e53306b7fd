"""Read and write the initiatives CSV: UTF-8, header name,region,topics,description,contact,website.

Parsing never raises on bad input: it returns the good rows with their line numbers and one
error per bad row, so an import can be all-or-nothing or skip bad rows. Problems are catalogue
keys (`csv.*`) with their values, so each reader gets them in their language.
Line numbers are physical lines of the file; the header is line 1.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.core.i18n import Texts
from bot.core.render import Markdown
from bot.text.analyzer import spreadsheet_safe, spreadsheet_text
from config.settings import Lang
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
class Problem:
    """One thing wrong with a file or a row: a catalogue key (`csv.*`) and its values."""

    key: str
    values: dict[str, str | int] = field(default_factory=dict)

    def text(self, texts: Texts, lang: Lang) -> Markdown:
        return texts.get(self.key, lang, **self.values)


@dataclass(frozen=True)
class RowError:
    line: int
    problems: tuple[Problem, ...]

    def message(self, texts: Texts, lang: Lang) -> Markdown:
        """The problems as sentences in one line, as the import lists them."""
        return Markdown(" ".join(problem.text(texts, lang) for problem in self.problems))


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


def problems(row: InitiativeRow) -> list[Problem]:
    """What is wrong with a row; [] if it is fine."""
    found: list[Problem] = []
    if not row.name.strip():
        found.append(Problem("csv.name.missing"))
    elif max(len(row.name), len(name_key(row.name))) > MAX_NAME:  # "ß" folds to "ss"
        found.append(Problem("csv.name.too_long", {"limit": MAX_NAME}))
    for field_name, value in (
        ("name", row.name),
        ("region", row.region),
        ("topics", " ".join(row.topics)),
    ):
        if _CONTROL.search(value) or "\n" in value or "\r" in value:
            found.append(Problem(f"csv.{field_name}.control"))
    if len(row.region) > MAX_REGION:
        found.append(Problem("csv.region.too_long", {"limit": MAX_REGION}))
    if len(row.topics) > MAX_TOPICS:
        found.append(Problem("csv.topics.too_many", {"limit": MAX_TOPICS}))
    if any(len(topic) > MAX_TOPIC for topic in row.topics):
        found.append(Problem("csv.topics.too_long", {"limit": MAX_TOPIC}))
    if len(row.description) > MAX_DESCRIPTION:
        found.append(Problem("csv.description.too_long", {"limit": MAX_DESCRIPTION}))
    if row.contact is not None and not is_matrix_id(row.contact):
        found.append(Problem("csv.contact.invalid", {"contact": row.contact[:80]}))
    if row.website is not None and not is_website(row.website):
        found.append(Problem("csv.website.invalid", {"website": row.website[:80]}))
    return found


def _decode(data: bytes) -> tuple[str | None, RowError | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return None, RowError(line, (Problem("csv.file.not_utf8", {"line": line}),))


def _header_error(header: list[str]) -> RowError | None:
    names = [column.strip().casefold() for column in header]
    missing = [column for column in COLUMNS if column not in names]
    unknown = [column for column in header if column.strip().casefold() not in COLUMNS]
    repeated = sorted({column for column in names if names.count(column) > 1})
    if not (missing or unknown or repeated):
        return None
    found = [
        Problem(f"csv.header.{kind}", {"columns": ", ".join(columns)})
        for kind, columns in (("missing", missing), ("unknown", unknown), ("repeated", repeated))
        if columns
    ]
    found.append(Problem("csv.header.expected", {"columns": ",".join(COLUMNS)}))
    if len(header) == 1 and ";" in header[0]:
        found.append(Problem("csv.header.semicolons"))
    return RowError(1, tuple(found))


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
            found.append(Problem("csv.name.repeated", {"name": row.name, "line": earlier}))
        if found:
            errors.append(RowError(line, tuple(found)))
            continue
        first_line[key] = line
        rows.append((line, row))
    if columns is None:
        return [], [RowError(1, (Problem("csv.file.empty", {"columns": ",".join(COLUMNS)}),))]
    return rows, errors


def _csv_error(line: int, problem: str) -> RowError:
    return RowError(line, (Problem("csv.file.broken", {"problem": problem}),))


def _count_error(line: int, found: int, expected: int) -> RowError:
    return RowError(line, (Problem("csv.fields", {"count": found, "expected": expected}),))


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
