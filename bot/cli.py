"""`initiative-bot` command line: run, shell, demo, data import/export, the funder report,
db upgrade, check, e2ee status and recovery keys."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from bot.adapters.shell import run_shell
from bot.app import build_dispatcher, run
from bot.core.errors import StartupError
from bot.core.messages import UserId
from bot.feedback.export import feedback_csv
from bot.initiatives.csv_import import export_csv, import_csv
from bot.reports.build import build_report
from bot.reports.period import Period, PeriodError, between, last_full_month, parse_date
from bot.services import Services, build_services, keep_for_good, load_data
from config.settings import Lang, Settings, SettingsError, load_settings
from storage.db import Database, MigrationError

T = TypeVar("T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="initiative-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="connect to the homeserver and serve")
    shell = sub.add_parser("shell", help="talk to the bot in the terminal")
    shell.add_argument("--user", default="@you:localhost", help="your Matrix ID in the shell")
    shell.add_argument("--coordinator", action="store_true", help="grant coordinator rights")
    shell.add_argument("--json", action="store_true", help="one JSON object per input line")
    sub.add_parser("demo", help="local Synapse, demo data, bot and a terminal chat")
    initiatives = sub.add_parser("initiatives", help="import or export the initiatives (CSV)")
    actions = initiatives.add_subparsers(dest="action", required=True)
    importer = actions.add_parser("import", help="upsert initiatives from a CSV file")
    importer.add_argument("file", type=Path)
    importer.add_argument("--skip-invalid", action="store_true", help="import the good rows")
    exporter = actions.add_parser("export", help="write all initiatives as CSV")
    exporter.add_argument("file", type=Path, nargs="?", help="default: standard output")
    feedback_cmd = sub.add_parser("feedback", help="export an event's feedback (CSV, no names)")
    feedback_actions = feedback_cmd.add_subparsers(dest="action", required=True)
    feedback_export = feedback_actions.add_parser("export", help="write one event's feedback")
    feedback_export.add_argument("event_id", type=int, metavar="EVENT_ID")
    feedback_export.add_argument("file", type=Path, nargs="?", help="default: standard output")
    report = sub.add_parser("report", help="the funder report as PDF, a summary on stdout")
    report.add_argument("--from", dest="first", metavar="DATE", help="2026-10-01 or 01.10.2026")
    report.add_argument("--to", dest="last", metavar="DATE", help="default: the last full month")
    report.add_argument("--out", type=Path, metavar="FILE.pdf", help="default: ./bericht-….pdf")
    report.add_argument("--lang", choices=["de", "en"], help="default: BOT_LANGUAGE")
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    sub.add_parser("check", help="validate settings and data files")
    e2ee = sub.add_parser("e2ee", help="the bot's encrypted identity")
    e2ee_actions = e2ee.add_subparsers(dest="action", required=True)
    e2ee_actions.add_parser(
        "status", help="device, cross-signing, master key and recovery key (no sync loop)"
    )
    e2ee_actions.add_parser("new-recovery-key", help="print a fresh recovery key")
    return parser


RECOVERY_KEY_HINT = (
    "A new recovery key (it opens the bot's cross-signing keys in secret storage on the "
    "homeserver). Keep it safe, like the password, and give it to the bot as BOT_RECOVERY_KEY "
    "or in a file named by BOT_RECOVERY_KEY_FILE. It is shown only this once."
)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "e2ee" and args.action == "new-recovery-key":
        from bot.adapters.matrix.identity import new_recovery_key

        print(new_recovery_key())  # needs no settings: the key is made here, on this machine
        print(RECOVERY_KEY_HINT, file=sys.stderr)
        return 0
    try:
        settings = load_settings()
    except SettingsError as exc:
        if args.command == "check":
            print("\n".join(exc.problems + load_data()[1]))
            return 1
        print(exc.problems[0], file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("alembic", "nio", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return asyncio.run(_command(args, settings))
    except (StartupError, SettingsError, MigrationError) as exc:
        print(str(exc).splitlines()[0], file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _command(args: argparse.Namespace, settings: Settings) -> int:
    match args.command:
        case "run":
            problems = settings.problems_for_run()
            if problems:
                raise SettingsError(problems)
            await run(settings)
        case "shell":
            await _with_services(
                settings,
                lambda services: run_shell(
                    build_dispatcher(services, flood=False),
                    UserId(args.user),
                    coordinator=args.coordinator,
                    as_json=args.json,
                ),
            )
        case "initiatives":
            return await _with_services(settings, lambda services: _initiatives(args, services))
        case "feedback":
            return await _with_services(settings, lambda services: _feedback(args, services))
        case "report":
            lang = args.lang or settings.language
            try:
                period = report_period(args.first, args.last, settings)
            except PeriodError as error:
                texts = load_data()[0].texts
                key = "report.error.date" if error.value in (args.first, args.last) else None
                print(
                    texts.plain(key, lang, value=error.value)
                    if key
                    else texts.plain("report.error.order", lang, first=args.first, last=args.last),
                    file=sys.stderr,
                )
                return 2
            return await _with_services(
                settings, lambda services: _report(services, period, lang, args.out)
            )
        case "db":
            db = Database(settings.database_url)  # migrations only: no data files needed
            try:
                await db.upgrade()
            finally:
                await db.dispose()
            print("database is up to date")
        case "check":
            problems = settings.problems_for_run() + load_data()[1]
            for line in problems:
                print(line)
            if not problems:
                for name in ("recovery_key", "recovery_key_file"):
                    if getattr(settings, name) is not None:  # validated on load; never shown
                        print(f"BOT_{name.upper()}: valid")
                print("OK")
            return 1 if problems else 0
        case "e2ee":
            problems = [p for p in settings.problems_for_run() if not p.startswith("BOT_PASSWORD")]
            if problems:
                raise SettingsError(problems)
            from bot.adapters.matrix.identity import status

            lines, fine = await status(settings)
            print("\n".join(lines))
            return 0 if fine else 1
        case "demo":
            from bot.demo.run import demo  # Synapse and nio: only for the demo

            await demo()
    return 0


async def _with_services(
    settings: Settings, body: Callable[[Services], Coroutine[Any, Any, T]]
) -> T:
    services = await build_services(settings)
    keep_for_good()
    try:
        return await body(services)
    finally:
        await services.db.dispose()


async def _initiatives(args: argparse.Namespace, services: Services) -> int:
    texts, lang = services.texts, services.settings.language
    if args.action == "export":
        text = await export_csv(services)
        if args.file:
            args.file.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    result = await import_csv(services, data, skip_invalid=args.skip_invalid)
    for error in result.errors:
        problems = error.message(texts, lang)
        print(texts.plain("csv.line", lang, line=error.line, problems=problems), file=sys.stderr)
    if result.errors and not args.skip_invalid:
        print(texts.plain("cli.import.nothing", lang), file=sys.stderr)
        return 1
    counts = {"created": result.created, "updated": result.updated}
    print(texts.plain("cli.import.done", lang, **counts, skipped=len(result.errors)))
    return 0


async def _feedback(args: argparse.Namespace, services: Services) -> int:
    text = await feedback_csv(services, args.event_id)
    if text is None:
        lang = services.settings.language
        print(
            services.texts.plain("cli.feedback.no_event", lang, event_id=args.event_id),
            file=sys.stderr,
        )
        return 1
    if args.file:
        args.file.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def report_period(first: str | None, last: str | None, settings: Settings) -> Period:
    """The period of `report --from --to`: without either, the last full calendar month;
    without --to, until today; without --from, from the first of --to's month."""
    today = datetime.now(settings.tz).date()
    if first is None and last is None:
        return last_full_month(today)
    end = parse_date(last) if last else today
    start = parse_date(first) if first else end.replace(day=1)
    return between(start, end)


async def _report(services: Services, period: Period, lang: Lang, out: Path | None) -> int:
    async with services.db.read() as session:
        built = await build_report(
            session, services.texts, services.settings, period, lang, services.clock()
        )
    path = out or Path(built.pdf_name)
    try:
        path.write_bytes(built.pdf)
    except OSError as exc:
        print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(built.summary)
    print(services.texts.plain("report.cli.written", lang, path=path))
    return 0
