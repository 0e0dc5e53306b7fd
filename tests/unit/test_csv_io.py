"""Reading and writing the initiatives CSV: every kind of error, with its line number."""

from __future__ import annotations

import pytest

from bot.core.i18n import load_texts
from bot.initiatives.csv_io import parse_initiatives_csv, problems, write_initiatives_csv
from bot.initiatives.regions import bundesland_of
from config import CONFIG_DIR
from config.settings import Lang
from storage.initiatives import InitiativeRow

HEADER = "name,region,topics,description,contact,website\n"
DEMO = CONFIG_DIR / "demo" / "initiatives.csv"
TEXTS = load_texts(CONFIG_DIR / "texts.yaml")[0]


def parse(
    text: str, lang: Lang = "en"
) -> tuple[list[tuple[int, InitiativeRow]], list[tuple[int, str]]]:
    rows, errors = parse_initiatives_csv(text.encode("utf-8"))
    return rows, [
        (
            error.line,
            TEXTS.plain("csv.line", lang, line=error.line, problems=error.message(TEXTS, lang)),
        )
        for error in errors
    ]


def messages(row: InitiativeRow, lang: Lang = "en") -> list[str]:
    return [TEXTS.plain(problem.key, lang, **problem.values) for problem in problems(row)]


def test_good_rows_are_read_with_their_line_numbers() -> None:
    rows, errors = parse(
        HEADER + 'H2 Nord,"Kiel, Schleswig-Holstein",Wasserstoff; Windkraft ;,"Ein Netzwerk, das",'
        "@h2:localhost,https://example.org/h2\n"
        "\n"
        "Fachkräfte Süd,München,Fachkräfte,,,\n"
    )
    assert errors == []
    assert rows == [
        (
            2,
            InitiativeRow(
                name="H2 Nord",
                region="Kiel, Schleswig-Holstein",
                topics=("Wasserstoff", "Windkraft"),
                description="Ein Netzwerk, das",
                contact="@h2:localhost",
                website="https://example.org/h2",
            ),
        ),
        (4, InitiativeRow("Fachkräfte Süd", "München", ("Fachkräfte",), "", None, None)),
    ]


def test_byte_order_mark_and_crlf_from_spreadsheets_are_fine() -> None:
    data = ("\ufeff" + HEADER + "A,B,C,D,,\r\n").replace("\n", "\r\n").encode("utf-8")
    rows, errors = parse_initiatives_csv(data)
    assert errors == []
    assert rows[0][1].name == "A"


def test_line_numbers_count_physical_lines_of_multiline_fields() -> None:
    rows, errors = parse(HEADER + 'A,R,T,"line one\nline two",,\nB,R,T,D,not-an-id,\n')
    assert [line for line, _ in rows] == [2]
    assert [line for line, _ in errors] == [4]


def test_bad_encoding_is_one_error_with_its_line() -> None:
    data = (HEADER + "A,R,T,D,,\n").encode("utf-8") + "Köln,R,T,D,,\n".encode("latin-1")
    rows, errors = parse_initiatives_csv(data)
    assert rows == []
    assert len(errors) == 1
    assert errors[0].line == 3
    for lang in ("de", "en", "de-simple"):
        assert "UTF-8" in errors[0].message(TEXTS, lang)


def test_missing_columns_are_named() -> None:
    rows, errors = parse("name,region,topics\nA,B,C\n")
    assert rows == []
    assert errors[0][0] == 1
    assert "description" in errors[0][1] and "contact" in errors[0][1]


def test_semicolon_separated_file_gets_a_hint() -> None:
    _, errors = parse("name;region;topics;description;contact;website\n")
    assert "semicolons" in errors[0][1]


def test_empty_file_is_an_error() -> None:
    assert parse("")[1][0][0] == 1


def test_empty_name_is_an_error() -> None:
    _, errors = parse(HEADER + "A,R,T,D,,\n  ,R,T,D,,\n")
    assert errors == [(3, "Line 3: The name is missing.")]


def test_duplicate_names_ignore_case_and_name_the_first_line() -> None:
    rows, errors = parse(HEADER + "Hydrogen Hub,R,T,D,,\nX,R,T,D,,\nhydrogen  HUB,R,T,D,,\n")
    assert [line for line, _ in rows] == [2, 3]
    assert errors[0][0] == 4
    assert "line 2" in errors[0][1]


@pytest.mark.parametrize(
    "contact",
    ["anna", "anna@example.org", "@anna", "@anna:", "@an na:localhost", "#room:localhost"],
)
def test_invalid_matrix_id_is_an_error(contact: str) -> None:
    _, errors = parse(HEADER + f'A,R,T,D,"{contact}",\n')
    assert errors[0][0] == 2
    assert "Matrix ID" in errors[0][1]


@pytest.mark.parametrize(
    "contact", ["@anna:localhost", "@anna.b-c_d=e/f:matrix.example.org:8448", "@x:[::1]"]
)
def test_valid_matrix_ids_are_accepted(contact: str) -> None:
    assert parse(HEADER + f"A,R,T,D,{contact},\n")[1] == []


def test_matrix_to_link_becomes_the_matrix_id() -> None:
    rows, _ = parse(HEADER + "A,R,T,D,https://matrix.to/#/@anna:localhost,\n")
    assert rows[0][1].contact == "@anna:localhost"


@pytest.mark.parametrize(
    "website",
    [
        "example.org",
        "ftp://example.org",
        "https://",
        "https://exa mple.org",
        "http://x",
        "javascript:alert(1)",
    ],
)
def test_invalid_website_is_an_error(website: str) -> None:
    _, errors = parse(HEADER + f'A,R,T,D,,"{website}"\n')
    assert errors[0][0] == 2
    assert "website" in errors[0][1]


def test_wrong_field_count_and_broken_quotes_are_errors() -> None:
    _, errors = parse(HEADER + "A,R,T,D,,,extra\nB,R\n" + 'C,R,T,"unclosed,,\n')
    assert [line for line, _ in errors] == [2, 3, 4]
    assert "7 fields instead of 6" in errors[0][1]
    assert "1 field instead of 6" in parse(HEADER + "B\n")[1][0][1]


def test_every_bad_row_is_listed_and_good_rows_stay_available() -> None:
    rows, errors = parse(HEADER + "A,R,T,D,,\n,R,T,D,,\nB,R,T,D,bad,\nC,R,T,D,,no-url\n")
    assert [line for line, _ in rows] == [2]
    assert [line for line, _ in errors] == [3, 4, 5]


def test_problems_read_in_every_language() -> None:
    row = InitiativeRow("", "R", (), "", "nobody", None)
    assert messages(row, "de") == [
        "Der Name fehlt.",
        "Der Kontakt „nobody“ ist keine Matrix-ID wie @name:server.de.",
    ]
    assert messages(row)[0] == "The name is missing."
    assert "Der Kontakt „nobody“ ist falsch." in messages(row, "de-simple")[1]
    assert problems(InitiativeRow("A", "", (), "", None, None)) == []


def test_german_import_lists_each_line_in_german() -> None:
    _, errors = parse(HEADER + "A,R,T,D,,,extra\n", "de")
    assert errors == [
        (
            2,
            "Zeile 2: Die Zeile hat 7 Felder statt 6. "
            "Felder mit Komma müssen in Anführungszeichen stehen.",
        )
    ]


def test_overlong_fields_are_rejected() -> None:
    row = InitiativeRow("N" * 201, "R", ("T" * 101,), "", None, None)
    assert messages(row) == [
        "The name is longer than 200 characters.",
        "A topic is longer than 100 characters.",
    ]


def test_written_csv_reads_back_unchanged() -> None:
    rows = [
        InitiativeRow('A, "quoted"', "Köln", ("Chemie", "KI"), "two\nlines", "@a:b.c", None),
        InitiativeRow("B", "", (), "", None, "https://example.org/b"),
    ]
    text = write_initiatives_csv(rows)
    assert text.startswith(HEADER)
    parsed, errors = parse_initiatives_csv(text.encode("utf-8"))
    assert errors == []
    assert [row for _, row in parsed] == rows


def test_demo_data_is_valid_and_covers_every_land() -> None:
    rows, errors = parse_initiatives_csv(DEMO.read_bytes())
    assert errors == []
    assert len(rows) >= 35
    laender = {bundesland_of(row.region) for _, row in rows}
    assert len(laender - {None}) == 16
    names = {row.name for _, row in rows}
    assert {"Hydrogen Hub Aachen", "h2-netzwerk-ruhr e. V."} <= names
    regions = " ".join(row.region for _, row in rows)
    assert all(place in regions for place in ("Wiesbaden", "Bonn", "Eichsfeld"))
