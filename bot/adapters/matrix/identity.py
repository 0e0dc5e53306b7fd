"""The bot's encrypted identity as a whole: cross-signing (kept in secret storage with a
recovery key), its own stale devices, and the operator's view of it (`initiative-bot e2ee`).

`IdentityKeeper.secure` runs once per start of the sync loop, after the device keys are up.
`status` reads the same facts from the homeserver with the stored device and token, without a
sync loop, a crypto store or a new device.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, WhoamiResponse
from sqlalchemy.engine.url import make_url

from bot.adapters.matrix.client_api import NETWORK_ERRORS, ApiError
from bot.adapters.matrix.crosssigning import (
    SECRETS,
    CrossSigningError,
    bootstrap,
    device_trust,
    identity_from_secrets,
    own_keys,
    public,
)
from bot.adapters.matrix.devices import list_devices, retire_stale_devices, stale_devices
from bot.adapters.matrix.secret_storage import new_key, open_vault
from config.recovery_key import encode_recovery_key
from config.settings import Settings
from storage.db import Database

log = logging.getLogger(__name__)

NO_RECOVERY_KEY = (
    "BOT_RECOVERY_KEY is not set: the cross-signing keys exist only in the crypto store "
    "(BOT_STORE_PATH); if it is lost, the bot gets a new identity and members who verified it "
    "see a warning. `initiative-bot e2ee new-recovery-key` makes a recovery key."
)


@dataclass
class IdentityKeeper:
    """Keeps the bot the same bot across devices. Each problem is logged once per process."""

    settings: Settings
    _said: set[str] = field(default_factory=set)

    def warn_once(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            log.warning("%s", message)

    async def secure(self, client: AsyncClient, replaced: str | None = None) -> None:
        """Cross-sign this device with the bot's identity (restored from secret storage when
        the store lost it), then delete the bot's stale devices (`replaced`: the device this
        one replaces). CrossSigningError: not signed, for the reason it gives; network errors
        propagate (the caller tries again)."""
        key = self.settings.recovery_key_bytes()
        if key is None:
            self.warn_once(NO_RECOVERY_KEY)
        password = self.settings.password.get_secret_value() if self.settings.password else None
        problem: CrossSigningError | None = None
        try:
            await bootstrap(client, self.settings.store_path, password, key, self.warn_once)
        except ApiError as exc:
            problem = CrossSigningError(str(exc))
        except CrossSigningError as exc:
            problem = exc
        try:
            await retire_stale_devices(client, password, [replaced] if replaced else [])
        except ApiError as exc:
            log.warning("stale devices not checked: %s", exc)
        if problem is not None:
            raise problem


def new_recovery_key() -> str:
    """A fresh recovery key, as Element shows one (groups of four characters)."""
    return encode_recovery_key(new_key())


# -- initiative-bot e2ee status ------------------------------------------------------------


async def _stored_login(settings: Settings) -> tuple[str | None, str | None]:
    """The device and access token the bot runs with: BOT_ACCESS_TOKEN, or the ones its
    database recorded at the last password login (None, None when there are none)."""
    if settings.access_token is not None:
        return None, settings.access_token.get_secret_value()
    if _no_sqlite_file(settings.database_url):
        return None, None  # nothing recorded, and opening it would create the file
    db = Database(settings.database_url)
    try:
        return await db.get_state("device_id"), await db.get_state("access_token")
    except Exception as exc:  # no tables yet, or the database is not reachable
        log.debug("no stored login: %s", exc)
        return None, None
    finally:
        await db.dispose()


def _no_sqlite_file(database_url: str) -> bool:
    url = make_url(database_url)
    return url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file()


async def status(settings: Settings) -> tuple[list[str], bool]:
    """What an operator checks before and after moving the bot: one `name: value` line each
    for the device, its cross-signing, the master key and the recovery key; and whether all
    is well (the device is cross-signed and a set recovery key restores this identity)."""
    assert settings.homeserver and settings.user_id
    lines = [f"user: {settings.user_id}"]
    device, token = await _stored_login(settings)
    if not token:
        lines.append("device: none yet (`initiative-bot run` logs in and makes one)")
        return lines, False
    config = AsyncClientConfig(encryption_enabled=False, max_limit_exceeded=0, max_timeouts=0)
    client = AsyncClient(settings.homeserver, settings.user_id, config=config)
    client.access_token = token
    try:
        return await _status(client, settings, device, lines)
    except NETWORK_ERRORS as exc:
        lines.append(f"homeserver: not reachable ({exc or type(exc).__name__})")
        return lines, False
    except (ApiError, CrossSigningError) as exc:
        lines.append(f"homeserver: {exc}")
        return lines, False
    finally:
        await client.close()


async def _status(
    client: AsyncClient, settings: Settings, device: str | None, lines: list[str]
) -> tuple[list[str], bool]:
    who = await client.whoami()
    if not isinstance(who, WhoamiResponse):
        lines.append(f"device: {device or '?'} (the homeserver refuses its token: {who.message})")
        return lines, False
    device = who.device_id or device or ""
    client.device_id = device
    store = settings.store_path / f"{settings.user_id}_{device}.db"
    lines.append(f"device: {device} (crypto store {'present' if store.is_file() else 'missing'})")
    trust = device_trust(await own_keys(client), client.user_id, device)
    lines.append(f"cross-signed: {'yes' if trust.cross_signed else 'no'} ({trust.reason})")
    lines.append(f"master key: {trust.master or 'none published'}")
    recovery, recovery_ok = await _recovery_status(client, settings, trust.master)
    lines.append(f"recovery key: {recovery}")
    stale = stale_devices(await list_devices(client), device)
    lines.append(
        f"stale devices: {', '.join(stale)} (the bot deletes them at its next start with "
        "BOT_PASSWORD)"
        if stale
        else "stale devices: none"
    )
    return lines, trust.cross_signed and recovery_ok


async def _recovery_status(
    client: AsyncClient, settings: Settings, master: str | None
) -> tuple[str, bool]:
    key = settings.recovery_key_bytes()
    if key is None:
        return "not set (a lost crypto store means a new identity)", True
    vault = await open_vault(client, key, tuple(SECRETS.values()))
    if vault.problem:
        return f"does not work: {vault.problem}", False
    stored = identity_from_secrets(vault.secrets)
    if stored is None:
        return (
            "valid, but the secret storage holds no cross-signing keys yet "
            "(the bot saves them at its next start)",
            False,
        )
    if public(stored.master) != master:
        return (
            f"opens the secret storage, but it holds another master key "
            f"({public(stored.master)}) than the published one",
            False,
        )
    return f"works (secret storage key {vault.key_id} holds this master key)", True
