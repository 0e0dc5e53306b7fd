"""Logging in: the stored device and token are reused; a password login (a new device) only
when the crypto store cannot serve them. The crypto store belongs to the device."""

from __future__ import annotations

import logging
import os

from nio import AsyncClient, LoginResponse, WhoamiResponse

from bot.adapters.matrix.crosssigning import CrossSigningError, own_keys
from bot.adapters.matrix.devices import DEVICE_NAME
from bot.core.errors import StartupError
from bot.core.messages import UserId
from config.settings import Settings
from storage.db import Database

log = logging.getLogger(__name__)


class DeviceLogin:
    def __init__(
        self, client: AsyncClient, user_id: UserId, settings: Settings, db: Database
    ) -> None:
        self.client = client
        self.user_id = user_id  # the client knows it only after a login
        self.settings = settings
        self.db = db
        self.replaced_device: str | None = None  # the device a new login replaced

    async def login(self) -> None:
        """Reuse the stored device and token; log in with the password only when needed."""
        db, settings = self.db, self.settings
        if settings.e2ee:
            settings.store_path.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(settings.store_path, 0o700)
        if settings.access_token:
            token = settings.access_token.get_secret_value()
            self.client.access_token = token
            who = await self.client.whoami()
            if not isinstance(who, WhoamiResponse):
                raise StartupError(f"BOT_ACCESS_TOKEN: the homeserver refused it ({who.message})")
            device = who.device_id or ""
            if problem := await self._store_problem(device, token):
                raise StartupError(
                    f"BOT_STORE_PATH: the crypto store cannot serve device {device} of "
                    f"BOT_ACCESS_TOKEN ({problem}); restore it or use BOT_PASSWORD"
                )
            self._protect_store()
            return
        stored, saved = await db.get_state("device_id"), await db.get_state("access_token")
        if stored and saved and self._store_exists(stored):
            self.client.access_token = saved
            who = await self.client.whoami()
            if not isinstance(who, WhoamiResponse):
                log.warning("stored access token no longer valid; logging in again")
            elif problem := await self._store_problem(stored, saved):
                log.warning(
                    "crypto store for device %s is unusable (%s); logging in as a new device",
                    stored,
                    problem,
                )
                self._set_aside(stored)
            else:
                log.info("reusing device %s", stored)
                self._protect_store()
                return
            self._forget_store()
        elif stored:
            log.warning("crypto store for device %s is missing; logging in as a new device", stored)
        await self._password_login()
        self._protect_store()

    def _store_exists(self, device: str) -> bool:
        if not self.settings.e2ee:
            return True
        return (self.settings.store_path / f"{self.user_id}_{device}.db").is_file()

    async def _store_problem(self, device: str, token: str) -> str | None:
        """Why the stored crypto state cannot serve `device` (None when it can)."""
        try:
            self.client.restore_login(self.user_id, device, token)
        except Exception as exc:  # a damaged SQLite file raises whatever its driver raises
            return f"cannot load it: {exc}"
        if self.client.olm is None or self.client.olm.account.shared:
            return None
        # An account that was never published is fine, unless the device has other keys.
        try:
            keys = await own_keys(self.client)
        except CrossSigningError as exc:
            raise StartupError(
                f"BOT_HOMESERVER: cannot read the bot's device keys ({exc})"
            ) from None
        published = keys.get("device_keys", {}).get(self.user_id, {})
        return "it holds other keys than the device" if device in published else None

    def _set_aside(self, device: str) -> None:
        """Keep an unusable store for inspection, out of the way of the next device's."""
        path = self.settings.store_path / f"{self.user_id}_{device}.db"
        path.rename(path.with_suffix(".unusable"))

    def _forget_store(self) -> None:
        """Unload the old device's store so that a new login opens its own."""
        self.client.store = None
        self.client.olm = None

    def _protect_store(self) -> None:
        """The crypto store holds the device's secrets: owner-only files."""
        if self.settings.e2ee:
            for path in self.settings.store_path.iterdir():
                if path.is_file():
                    path.chmod(0o600)

    async def _password_login(self) -> None:
        if not self.settings.password:
            raise StartupError(
                "BOT_PASSWORD: needed to log in (no usable stored device for this crypto store)"
            )
        self.client.device_id = None
        resp = await self.client.login(
            self.settings.password.get_secret_value(), device_name=DEVICE_NAME
        )
        if not isinstance(resp, LoginResponse):
            raise StartupError(f"BOT_PASSWORD: login as {self.user_id} failed ({resp.message})")
        self.replaced_device = await self.db.get_state("device_id") or None
        await self.db.set_state("device_id", resp.device_id)
        await self.db.set_state("access_token", resp.access_token)
        await self.db.set_state("sync_token", "")
        log.info("logged in as %s with new device %s", self.user_id, resp.device_id)
