"""`initiative-bot` command line: run, shell, demo, data import/export, db upgrade, check."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Coroutine
from typing import Any

from bot.app import build_dispatcher, build_services, run
from bot.demo import demo
from bot.matrix import StartupError
from bot.shell import run_shell
from bot.types import UserId
from config.settings import Settings, SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="initiative-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="connect to the homeserver and serve")
    shell = sub.add_parser("shell", help="talk to the bot in the terminal")
    shell.add_argument("--user", default="@you:localhost", help="your Matrix ID in the shell")
    shell.add_argument("--coordinator", action="store_true", help="grant coordinator rights")
    shell.add_argument("--json", action="store_true", help="one JSON object per input line")
    sub.add_parser("demo", help="local Synapse, demo data, bot and a terminal chat")
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    sub.add_parser("check", help="validate settings and data files")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        if args.command == "check":
            print("\n".join(exc.problems))
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
    except (StartupError, SettingsError) as exc:
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
        case "db":
            services = await build_services(settings)
            await services.db.dispose()
            print("database is up to date")
        case "check":
            problems = settings.problems_for_run()
            for line in problems:
                print(line)
            if not problems:
                print("OK")
            return 1 if problems else 0
        case "demo":
            await demo()
    return 0


async def _with_services(settings: Settings, body: Any) -> None:
    services = await build_services(settings)
    try:
        coro: Coroutine[Any, Any, None] = body(services)
        await coro
    finally:
        await services.db.dispose()
