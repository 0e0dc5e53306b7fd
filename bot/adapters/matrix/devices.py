"""The bot's own stale devices: those an earlier crypto store belonged to.

After a lost store the bot logs in as a new device; the old one would stay in the account's
device list for ever (and in members' clients as an unverified session of the bot). A device is
the bot's when it carries the name the bot gives its logins, or when the database recorded it
as the bot's device. Other sessions on the account (an operator's Element) are never touched.
Deleting devices needs user-interactive auth, answered with the password.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from nio import AsyncClient

from bot.adapters.matrix.client_api import ApiError, call, password_auth

log = logging.getLogger(__name__)

DEVICE_NAME = "initiative-bot"  # the display name of every device the bot logs in as
HOW_TO = "delete them in Element (Settings → Sessions) or start the bot once with BOT_PASSWORD"


async def list_devices(client: AsyncClient) -> list[dict[str, Any]]:
    status, data = await call(client, "GET", "/devices")
    if status != 200:
        raise ApiError(f"listing devices answered {status}: {data.get('errcode', data)}")
    return [d for d in data.get("devices") or [] if isinstance(d, dict) and d.get("device_id")]


def stale_devices(
    devices: list[dict[str, Any]], current: str, known: Iterable[str] = ()
) -> list[str]:
    """The bot's devices other than `current`: named like its logins, or in `known`."""
    known = set(known)
    return sorted(
        str(d["device_id"])
        for d in devices
        if d["device_id"] != current
        and (d.get("display_name") == DEVICE_NAME or d["device_id"] in known)
    )


async def retire_stale_devices(
    client: AsyncClient, password: str | None, known: Iterable[str] = ()
) -> list[str]:
    """Delete the bot's stale devices (see `stale_devices`); returns the deleted ids. Without
    a password, or when the homeserver refuses, a warning tells the operator what to do."""
    stale = stale_devices(await list_devices(client), client.device_id, known)
    if not stale:
        return []
    listed = ", ".join(stale)
    if password is None:
        log.warning("stale devices of the bot remain (%s): %s", listed, HOW_TO)
        return []
    body: dict[str, Any] = {"devices": stale}
    status, data = await call(client, "POST", "/delete_devices", body)
    if status == 401 and "flows" in data:
        auth = password_auth(data, client.user_id, password)
        if auth is None:
            reason = "the homeserver offers no password step"
            log.warning("stale devices %s not deleted (%s): %s", listed, reason, HOW_TO)
            return []
        body["auth"] = auth
        status, data = await call(client, "POST", "/delete_devices", body)
    if status != 200:
        reason = str(data.get("errcode") or data.get("error") or status)
        log.warning("stale devices %s not deleted (%s): %s", listed, reason, HOW_TO)
        return []
    log.info("deleted stale devices of the bot: %s", listed)
    return stale
