"""A throwaway local Synapse homeserver, used by the integration tests and by `demo`.

`LocalSynapse` writes a minimal configuration into a directory, starts Synapse as a child
process on a free port of 127.0.0.1 (SQLite, no federation listener) and registers users
through the shared-secret admin API. Synapse must be installed in the running interpreter's
environment (it is part of the `test` extra).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib.util
import secrets
import signal
import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, NamedTuple, Self

import aiohttp
import yaml

GENEROUS_LIMIT = {"per_second": 10_000, "burst_count": 100_000}
POLL_INTERVAL = 0.05


class SynapseError(RuntimeError):
    """Synapse is missing, did not start, or refused a request."""


class Registration(NamedTuple):
    user_id: str
    access_token: str
    device_id: str


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def relaxed_rate_limits() -> dict[str, Any]:
    """Rate limits so high that tests and demos never hit them (0 would not disable them)."""
    return {
        "rc_message": GENEROUS_LIMIT,
        "rc_registration": GENEROUS_LIMIT,
        "rc_login": {
            "address": GENEROUS_LIMIT,
            "account": GENEROUS_LIMIT,
            "failed_attempts": GENEROUS_LIMIT,
        },
        "rc_joins": {"local": GENEROUS_LIMIT, "remote": GENEROUS_LIMIT},
        "rc_joins_per_room": GENEROUS_LIMIT,
        "rc_invites": {
            "per_room": GENEROUS_LIMIT,
            "per_user": GENEROUS_LIMIT,
            "per_issuer": GENEROUS_LIMIT,
        },
        "rc_room_creation": GENEROUS_LIMIT,
        "rc_admin_redaction": GENEROUS_LIMIT,
        "rc_key_requests": GENEROUS_LIMIT,
        "rc_presence": {"per_user": GENEROUS_LIMIT},
        "rc_media_create": GENEROUS_LIMIT,
        "rc_reports": GENEROUS_LIMIT,
        "rc_user_directory": GENEROUS_LIMIT,
        "rc_profile": GENEROUS_LIMIT,
        "rc_delayed_event_mgmt": GENEROUS_LIMIT,
    }


def registration_mac(secret: str, nonce: str, username: str, password: str, admin: bool) -> str:
    """HMAC-SHA1 the admin register endpoint expects for a shared-secret registration."""
    message = "\x00".join((nonce, username, password, "admin" if admin else "notadmin"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha1).hexdigest()


class LocalSynapse:
    """One Synapse process serving the client API on http://127.0.0.1:PORT.

    Use `async with LocalSynapse(directory) as synapse:` or `start()` / `stop()`.
    The directory holds the configuration, the SQLite database, the media store and the logs
    (`homeserver.log` for Synapse's own log, `synapse.out` for its stdout and stderr).
    """

    def __init__(
        self,
        directory: Path,
        *,
        server_name: str = "localhost",
        relaxed_limits: bool = True,
        start_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.directory = directory.resolve()
        self.server_name = server_name
        self.relaxed_limits = relaxed_limits
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.port = free_port()
        self.shared_secret = secrets.token_urlsafe(32)
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.directory / "homeserver.yaml"

    @property
    def log_path(self) -> Path:
        return self.directory / "homeserver.log"

    @property
    def output_path(self) -> Path:
        return self.directory / "synapse.out"

    def config(self) -> dict[str, Any]:
        """The homeserver.yaml content."""
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "public_baseurl": f"{self.url}/",
            "pid_file": str(self.directory / "homeserver.pid"),
            "report_stats": False,
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(self.directory / "homeserver.db")},
            },
            "log_config": str(self.directory / "log_config.yaml"),
            "media_store_path": str(self.directory / "media_store"),
            "signing_key_path": str(self.directory / f"{self.server_name}.signing.key"),
            "registration_shared_secret": self.shared_secret,
            "enable_registration": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "bcrypt_rounds": 4,
            "presence": {"enabled": False},
            "enable_metrics": False,
            "url_preview_enabled": False,
        }
        if self.relaxed_limits:
            config.update(relaxed_rate_limits())
        return config

    def log_config(self) -> dict[str, Any]:
        return {
            "version": 1,
            "formatters": {
                "plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"},
            },
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "plain",
                    "filename": str(self.log_path),
                    "encoding": "utf-8",
                },
            },
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }

    def write_config(self) -> None:
        """Write homeserver.yaml and the log configuration into the directory."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "media_store").mkdir(exist_ok=True)
        (self.directory / "log_config.yaml").write_text(
            yaml.safe_dump(self.log_config()), encoding="utf-8"
        )
        self.config_path.write_text(yaml.safe_dump(self.config()), encoding="utf-8")

    async def start(self) -> None:
        """Write the configuration, generate keys, start Synapse and wait until it answers."""
        if importlib.util.find_spec("synapse") is None:
            raise SynapseError(
                f"matrix-synapse is not installed for {sys.executable}; "
                "install the test extra: pip install -e '.[test]'"
            )
        self.write_config()
        command = [sys.executable, "-m", "synapse.app.homeserver", "--config-path"]
        await self._run_to_end([*command, str(self.config_path), "--generate-keys"])
        output = self._open_output()
        try:
            # A new session keeps a terminal's Ctrl-C away from Synapse: stop() ends it.
            self._process = await asyncio.create_subprocess_exec(
                *command,
                str(self.config_path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                cwd=self.directory,
                start_new_session=True,
            )
        finally:
            output.close()
        try:
            await self._wait_until_ready()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Terminate Synapse (SIGTERM, SIGKILL after `stop_timeout`) and reap the process."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        try:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), self.stop_timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
        except ProcessLookupError:
            await process.wait()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def register(self, username: str, password: str, admin: bool = False) -> Registration:
        """Create a user with the shared-secret admin API and return its first login."""
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as session:
            async with session.get(endpoint) as response:
                nonce = (await self._json(response))["nonce"]
            body = {
                "nonce": nonce,
                "username": username,
                "password": password,
                "admin": admin,
                "mac": registration_mac(self.shared_secret, nonce, username, password, admin),
            }
            async with session.post(endpoint, json=body) as response:
                answer = await self._json(response)
        return Registration(answer["user_id"], answer["access_token"], answer["device_id"])

    @staticmethod
    async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
        if response.status != 200:
            raise SynapseError(f"{response.method} {response.url}: {await response.text()}")
        return dict(await response.json())

    def _open_output(self) -> IO[bytes]:
        return self.output_path.open("ab")

    def _tail(self, path: Path, lines: int = 20) -> str:
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    async def _run_to_end(self, command: list[str]) -> None:
        output = self._open_output()
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                cwd=self.directory,
            )
        finally:
            output.close()
        if await process.wait() != 0:
            raise SynapseError(f"{' '.join(command)} failed:\n{self._tail(self.output_path)}")

    async def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        versions = f"{self.url}/_matrix/client/versions"
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while time.monotonic() < deadline:
                if self._process.returncode is not None:
                    raise SynapseError(
                        f"Synapse exited with code {self._process.returncode} during start-up:\n"
                        f"{self._tail(self.output_path)}\n{self._tail(self.log_path)}"
                    )
                try:
                    async with session.get(versions) as response:
                        if response.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(POLL_INTERVAL)
        raise SynapseError(
            f"Synapse did not answer on {self.url} within {self.start_timeout:.0f} s; "
            f"see {self.log_path} and {self.output_path}"
        )
