"""The bot as a real subprocess (`python -m bot run`), as operators run it."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bot.demo.homeserver import LocalSynapse, Registration, free_port

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """One bot account with its own database and store; start, stop, kill and restart it."""

    def __init__(
        self,
        synapse: LocalSynapse,
        account: Registration,
        password: str,
        directory: Path,
        **settings: str,
    ) -> None:
        self.synapse = synapse
        self.account = account
        self.directory = directory
        self.http_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BOT_")},
            "BOT_HOMESERVER": synapse.url,
            "BOT_USER_ID": account.user_id,
            "BOT_PASSWORD": password,
            "BOT_DATABASE_URL": f"sqlite+aiosqlite:///{directory}/bot.db",
            "BOT_STORE_PATH": str(directory / "store"),
            "BOT_HTTP_PORT": str(self.http_port),
            "BOT_LOG_LEVEL": "INFO",
            **{f"BOT_{k.upper()}": v for k, v in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = directory / "bot.log"

    @property
    def user_id(self) -> str:
        return self.account.user_id

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    async def start(self, timeout: float = 30) -> None:
        """Start and wait until /healthz says the first sync is done."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=self.directory,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"bot exited early:\n{self.log_tail()}")
                try:
                    async with http.get(f"{self.http_url}/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(f"bot not healthy after {timeout}s:\n{self.log_tail()}")

    async def stop(self, timeout: float = 15) -> int:
        """SIGTERM, as an operator would; returns the exit code."""
        return await self._end(signal.SIGTERM, timeout)

    async def kill(self) -> int:
        return await self._end(signal.SIGKILL, 10)

    async def _end(self, sig: signal.Signals, timeout: float) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                raise TimeoutError(f"bot did not stop on {sig.name}:\n{self.log_tail()}")
            await asyncio.sleep(0.05)
        return self.process.returncode

    async def wait_for_log(self, *texts: str, timeout: float = 30) -> None:
        """Wait until the bot's log holds every one of `texts`."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            if all(text in log for text in texts):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"not logged: {texts}\n{self.log_tail()}")
            await asyncio.sleep(0.1)

    def state(self, key: str) -> str | None:
        """A value the bot recorded in its database (device_id, access_token, ...)."""
        with sqlite3.connect(self.directory / "bot.db") as db:
            row = db.execute("SELECT value FROM bot_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    async def api(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """A client-server API call with the bot's current access token, as another client of
        the bot's account would make it."""
        url = f"{self.synapse.url}/_matrix/client/v3{path}"
        headers = {"Authorization": f"Bearer {self.state('access_token')}"}
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, url, json=body, headers=headers) as resp,
        ):
            return resp.status, dict(await resp.json(content_type=None) or {})

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`initiative-bot ARGS` with the bot's settings, as its operator would run it."""
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


async def new_bot(synapse: LocalSynapse, directory: Path, name: str, **settings: str) -> BotProcess:
    """Register a fresh bot account (unique name) and prepare its process (not started)."""
    password = f"{name}-password"
    account = await synapse.register(name, password)
    return BotProcess(synapse, account, password, directory, **settings)
