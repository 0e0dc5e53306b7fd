"""Event times as functions: parsing, series, slots across DST, the missed-slot rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.i18n import lead_text, load_texts, local_when
from bot.events.slots import (
    Kind,
    ScheduleError,
    SlotKind,
    Window,
    event_slots,
    parse_date,
    parse_event_spec,
    parse_link,
    parse_recurrence,
    parse_time,
    plan,
    to_utc,
    txn_id,
)
from config import CONFIG_DIR
from config.settings import Lang

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
OFFSETS = [timedelta(days=7), timedelta(days=1), timedelta(hours=1)]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["2026-12-03", "03.12.2026", "3.12.2026", "03.12.26", " 2026-12-3 "],
)
def test_every_date_form(text: str) -> None:
    assert parse_date(text) == date(2026, 12, 3)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("31.02.2027", "impossible_date"),
        ("2027-13-01", "impossible_date"),
        ("00.01.2027", "impossible_date"),
        ("29.02.2027", "impossible_date"),
        ("3.12.", "bad_date"),
        ("12/03/2026", "bad_date"),
        ("morgen", "bad_date"),
        ("", "bad_date"),
    ],
)
def test_bad_dates(text: str, key: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_date(text)
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("text", "expected"),
    [("14:00", time(14)), ("9:05", time(9, 5)), ("14:00:30", time(14, 0, 30)), ("14.00", time(14))],
)
def test_every_time_form(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("24:00", "impossible_time"),
        ("12:60", "impossible_time"),
        ("12:00:61", "impossible_time"),
        ("14", "bad_time"),
        ("2pm", "bad_time"),
        ("14:0", "bad_time"),
    ],
)
def test_bad_times(text: str, key: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_time(text)
    assert caught.value.key == key


def test_local_times_convert_with_summer_and_winter_time() -> None:
    assert to_utc(date(2026, 12, 3), time(14), BERLIN) == utc(2026, 12, 3, 13)
    assert to_utc(date(2026, 7, 3), time(14), BERLIN) == utc(2026, 7, 3, 12)
    # 02:30 on the last Sunday of October happens twice: the first (summer time) counts.
    assert to_utc(date(2026, 10, 25), time(2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)


def test_time_skipped_by_spring_change_is_refused() -> None:
    with pytest.raises(ScheduleError) as caught:
        to_utc(date(2026, 3, 29), time(2, 30), BERLIN)
    assert caught.value.key == "nonexistent_time"


@pytest.mark.parametrize(
    "link",
    ["https://example.org/webinar?id=3", "http://meet.example.de", "http://localhost:8080/x"],
)
def test_good_links(link: str) -> None:
    assert parse_link(link) == link


@pytest.mark.parametrize(
    "link",
    [
        "htp://example.org",
        "example.org",
        "https://",
        "https://nohost",
        "ftp://a.de",
        "https://a.de/mit leerzeichen",
        "javascript:alert(1)",
        "https://[::1",
    ],
)
def test_bad_links(link: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_link(link)
    assert caught.value.key == "bad_link"


def test_full_spec_with_optional_fields_in_any_order() -> None:
    spec = parse_event_spec(
        "03.12.2026 14:00 | Wasserstoff  in der Region | 90 | https://example.org/w | Workshop",
        NOW,
        BERLIN,
    )
    assert spec.starts == [utc(2026, 12, 3, 13)]
    assert (spec.title, spec.minutes, spec.link, spec.kind) == (
        "Wasserstoff in der Region",
        90,
        "https://example.org/w",
        Kind.WORKSHOP,
    )
    assert spec.rule is None


def test_minimal_spec_defaults_to_a_60_minute_webinar() -> None:
    spec = parse_event_spec("2026-12-03 14:00:30 Uhr | Titel", NOW, BERLIN)
    assert spec.starts == [utc(2026, 12, 3, 13, 0, 30)]
    assert (spec.minutes, spec.kind, spec.link) == (60, Kind.WEBINAR, None)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("03.12.2026 14:00 Titel", "no_separator"),
        ("03.12.2026 | Titel", "no_separator"),
        ("03.12.2026 14:00 |   ", "missing_title"),
        ("03.12.2026 14:00 | " + "x" * 201, "long_title"),
        ("25.11.2026 09:59 | Gerade vorbei", "past"),  # NOW is 10:00 in Berlin
        ("01.01.2040 10:00 | Zu weit", "too_far"),
        ("03.12.2026 14:00 | T | www.example.org", "bad_link"),
        ("03.12.2026 14:00 | T | 0", "bad_minutes"),
        ("03.12.2026 14:00 | T | 99999", "bad_minutes"),
        ("03.12.2026 14:00 | T | 30 | 45", "duplicate_field"),
        ("03.12.2026 14:00 | T | wöchentlich", "bad_recurrence"),
        ("03.12.2026 14:00 | T | weekly x99", "bad_count"),
        ("03.12.2026 14:00 | T | weekly x1", "bad_count"),
        ("03.12.2026 14:00 | T | monthly until 2026-12-05", "single_occurrence"),
        ("03.12.2026 14:00 | T | daily x3", "bad_link"),
    ],
)
def test_bad_specs(text: str, key: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_event_spec(text, NOW, BERLIN)
    assert caught.value.key == key


def test_series_keep_local_wall_time_across_dst() -> None:
    spec = parse_event_spec("2027-03-18 14:00 | Reihe | wöchentlich x3", NOW, BERLIN)
    # 18 and 25 March are winter time (UTC+1); 1 April is summer time (UTC+2).
    assert spec.starts == [utc(2027, 3, 18, 13), utc(2027, 3, 25, 13), utc(2027, 4, 1, 12)]
    assert spec.rule == "FREQ=WEEKLY;COUNT=3"


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("weekly x6", 6),
        ("wöchentlich 6x", 6),
        ("alle 2 Wochen bis 01.03.2027", 7),
        ("every 2 weeks until 2027-03-01", 7),
        ("14-tägig x4", 4),
        ("monatlich x3", 3),
        ("monthly until 2027-06-03", 7),
    ],
)
def test_recurrence_forms(text: str, count: int) -> None:
    spec = parse_event_spec(f"03.12.2026 14:00 | Reihe | {text}", NOW, BERLIN)
    assert len(spec.starts) == count
    assert spec.repeat == text


def test_recurrence_rule_is_an_rrule() -> None:
    assert parse_recurrence("alle 2 Wochen x3").interval == 2


# -- slots --------------------------------------------------------------------------------


def test_slots_are_reminders_start_and_feedback_in_order() -> None:
    start = utc(2026, 12, 3, 13)
    slots = event_slots(start, 90, OFFSETS, timedelta(minutes=30), BERLIN)
    assert [s.kind for s in slots] == [SlotKind.REMINDER] * 3 + [SlotKind.START, SlotKind.FEEDBACK]
    assert [s.due for s in slots] == [
        utc(2026, 11, 26, 13),
        utc(2026, 12, 2, 13),
        utc(2026, 12, 3, 12),
        start,
        start + timedelta(minutes=120),
    ]
    assert len({s.key for s in slots}) == 5


def test_day_reminders_keep_local_time_in_the_march_dst_week() -> None:
    # Monday 30 March 2026, 14:00 summer time; clocks changed on Sunday 29 March.
    start = to_utc(date(2026, 3, 30), time(14), BERLIN)
    slots = event_slots(start, 60, OFFSETS, timedelta(0), BERLIN)
    week, day, hour = (s.due for s in slots[:3])
    assert week.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 23, 14)
    assert start - week == timedelta(days=7, hours=-1)  # one hour less in real time
    assert day.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 14)
    assert start - hour == timedelta(hours=1)


def test_day_reminders_keep_local_time_in_the_october_dst_week() -> None:
    # Monday 26 October 2026, 10:00 winter time; clocks changed on Sunday 25 October.
    start = to_utc(date(2026, 10, 26), time(10), BERLIN)
    week, day, hour = (s.due for s in event_slots(start, 60, OFFSETS, timedelta(0), BERLIN)[:3])
    assert week == utc(2026, 10, 19, 8)  # 10:00 summer time
    assert start - week == timedelta(days=7, hours=1)
    assert day == utc(2026, 10, 25, 9)  # Sunday 10:00 is already winter time
    assert hour == utc(2026, 10, 26, 8)
    # On the Sunday itself, the reminder a day before comes 25 real hours earlier.
    sunday = to_utc(date(2026, 10, 25), time(14), BERLIN)
    day_before = event_slots(sunday, 60, [timedelta(days=1)], timedelta(0), BERLIN)[0].due
    assert day_before.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 10, 24, 14)
    assert sunday - day_before == timedelta(hours=25)


def test_slot_keys_change_when_the_event_moves() -> None:
    first = event_slots(utc(2026, 12, 3, 13), 60, OFFSETS, timedelta(0), BERLIN)
    moved = event_slots(utc(2026, 12, 3, 14), 60, OFFSETS, timedelta(0), BERLIN)
    assert not {s.key for s in first} & {s.key for s in moved}


# -- the missed-slot rule -----------------------------------------------------------------

START = utc(2026, 12, 3, 13)
SLOTS = event_slots(START, 60, OFFSETS, timedelta(0), BERLIN)
WINDOW = Window(START, START + timedelta(hours=1), timedelta(days=14))


def keys(slots: list) -> list[str]:
    return [s.key.split("-t")[0] for s in slots]


def test_nothing_due_means_wake_at_the_next_slot() -> None:
    result = plan(SLOTS, set(), utc(2026, 11, 20), WINDOW)
    assert (result.post, result.skip, result.wake_at) == ([], [], SLOTS[0].due)


def test_a_due_slot_is_posted_and_the_next_is_scheduled() -> None:
    result = plan(SLOTS, set(), SLOTS[0].due, WINDOW)
    assert keys(result.post) == ["remind-7d"]
    assert result.wake_at == SLOTS[1].due


def test_of_several_missed_reminders_only_the_latest_is_posted() -> None:
    result = plan(SLOTS, set(), START - timedelta(minutes=30), WINDOW)
    assert keys(result.post) == ["remind-1h"]
    assert keys(result.skip) == ["remind-7d", "remind-1d"]
    assert result.wake_at == START


def test_missed_reminders_are_not_posted_after_the_start() -> None:
    result = plan(SLOTS, set(), START + timedelta(minutes=5), WINDOW)
    assert keys(result.post) == ["start"]
    assert keys(result.skip) == ["remind-7d", "remind-1d", "remind-1h"]


def test_a_missed_start_post_is_dropped_once_the_event_is_over() -> None:
    result = plan(SLOTS, set(), START + timedelta(hours=2), WINDOW)
    assert keys(result.post) == ["feedback"]
    assert "start" in keys(result.skip)


def test_feedback_prompt_is_dropped_after_the_feedback_window() -> None:
    result = plan(SLOTS, set(), START + timedelta(days=20), WINDOW)
    assert result.post == [] and len(result.skip) == 5


def test_settled_slots_are_never_planned_again() -> None:
    settled = {s.key for s in SLOTS[:2]}
    result = plan(SLOTS, settled, START - timedelta(minutes=30), WINDOW)
    assert keys(result.post) == ["remind-1h"] and result.skip == []


def test_txn_ids_are_stable_per_event_slot_and_room() -> None:
    created = utc(2026, 11, 1)
    first = txn_id(3, created, "start-t1", "!a:localhost")
    assert first == txn_id(3, created, "start-t1", "!a:localhost")
    assert first != txn_id(3, created, "start-t1", "!b:localhost")
    assert first != txn_id(4, created, "start-t1", "!a:localhost")
    assert first != txn_id(3, created, "remind-1h-t1", "!a:localhost")


# -- how times read -------------------------------------------------------------------------


def test_times_read_in_each_language() -> None:
    texts, _ = load_texts(CONFIG_DIR / "texts.yaml")
    when = utc(2026, 12, 3, 13, 0, 30)
    assert local_when("de", when, BERLIN) == "Do., 03.12.2026, 14:00:30 Uhr"
    assert local_when("en", utc(2026, 12, 3, 13), BERLIN) == "Thu 3 Dec 2026, 14:00"
    assert local_when("de-simple", utc(2026, 12, 3, 13), BERLIN) == (
        "Donnerstag, 3. Dezember 2026, um 14:00 Uhr"
    )
    now = utc(2026, 12, 1, 9)

    def lead(lang: Lang, ahead: timedelta) -> str:
        return lead_text(texts, lang, now + ahead, now, BERLIN)

    assert lead("de", timedelta(days=3, hours=-1)) == "in 3 Tagen"
    assert lead("en", timedelta(days=7, hours=-1)) == "in 1 week"
    assert lead("de", timedelta(days=1)) == "morgen"
    assert lead("de", timedelta(hours=1)) == "in 1 Stunde"
    assert lead("en", timedelta(minutes=40)) == "in 40 minutes"
    assert lead("de", timedelta(seconds=20)) == "in wenigen Sekunden"
