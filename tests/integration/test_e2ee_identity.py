"""A stable encrypted identity over a real Synapse: with a recovery key the bot keeps its master
key when its crypto store is lost, signs the new device and deletes the old one; with a wrong
recovery key it changes nothing on the server. The keys are read back from the homeserver as
any client reads them (`/keys/query`, the account data, `/devices`)."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from signedjson.key import decode_signing_key_base64

from bot.adapters.matrix.crosssigning import public
from bot.adapters.matrix.identity import new_recovery_key
from bot.adapters.matrix.secret_storage import decrypt, key_fits
from bot.demo.homeserver import LocalSynapse
from config.recovery_key import decode_recovery_key

from .botproc import BotProcess, new_bot
from .synapse import MemberClient, new_member
from .test_e2ee import (
    HELP_TITLE,
    WAIT,
    ask,
    cross_signed_device,
    device_of,
    encrypted_room,
    new_room_key,
    query_keys,
)

pytestmark = pytest.mark.integration

SECRETS = ("m.cross_signing.master", "m.cross_signing.self_signing", "m.cross_signing.user_signing")


async def published(member: MemberClient, bot: BotProcess) -> tuple[str, str]:
    """The bot's master and self-signing public keys as `/keys/query` gives them."""
    keys = await query_keys(member, bot.user_id)
    [master] = keys["master_keys"][bot.user_id]["keys"].values()
    [self_signing] = keys["self_signing_keys"][bot.user_id]["keys"].values()
    return master, self_signing


async def account_data(bot: BotProcess, event_type: str) -> dict[str, Any] | None:
    user = bot.user_id.replace("@", "%40").replace(":", "%3A")
    status, data = await bot.api("GET", f"/user/{user}/account_data/{event_type}")
    assert status in (200, 404), data
    return data if status == 200 else None


async def secret_storage(bot: BotProcess) -> dict[str, Any]:
    """The default key, its description and the cross-signing secrets, as stored."""
    default = await account_data(bot, "m.secret_storage.default_key")
    assert default is not None, "no default secret storage key"
    stored = {"default": default}
    stored["description"] = await account_data(bot, f"m.secret_storage.key.{default['key']}")
    for name in SECRETS:
        stored[name] = await account_data(bot, name)
    return stored


def stored_public_key(stored: dict[str, Any], name: str, key: bytes) -> str:
    """Decrypt the secret `name` with `key` and return the public half of the private key."""
    encrypted = stored[name]["encrypted"][stored["default"]["key"]]
    seed = decrypt(key, name, encrypted).decode()
    return public(decode_signing_key_base64("ed25519", "x", seed))


async def devices(bot: BotProcess) -> set[str]:
    status, data = await bot.api("GET", "/devices")
    assert status == 200, data
    return {device["device_id"] for device in data["devices"]}


async def gone(bot: BotProcess, device_id: str) -> None:
    deadline = time.monotonic() + WAIT
    while device_id in await devices(bot):
        assert time.monotonic() < deadline, f"{device_id} still listed:\n{bot.log_tail()}"
        await asyncio.sleep(0.2)


def status_lines(bot: BotProcess, *, expect: int = 0) -> dict[str, str]:
    result = bot.cli("e2ee", "status")
    assert result.returncode == expect, result.stdout + result.stderr
    return dict(line.split(": ", 1) for line in result.stdout.splitlines())


async def test_a_recovery_key_keeps_the_same_identity_after_the_store_is_lost(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    recovery_key = new_recovery_key()
    key = decode_recovery_key(recovery_key)
    member = await new_member(synapse, "member", store_path=tmp_path / "member-store")
    bot = await new_bot(
        synapse, tmp_path / "bot", f"bot-{uuid.uuid4().hex[:8]}", recovery_key=recovery_key
    )
    store = bot.directory / "store"
    try:
        await bot.start()
        room_id = await encrypted_room(member, bot, "Umzug")
        first = device_of(bot)
        await cross_signed_device(member, bot, first)
        await bot.wait_for_log("cross-signing keys saved in secret storage", timeout=WAIT)
        master, self_signing = await published(member, bot)

        # The secret storage is there as Element would read it: a default key whose key
        # check fits the recovery key, and the private keys of the published identity.
        stored = await secret_storage(bot)
        assert {"iv", "mac"} <= set(stored["description"]) and key_fits(key, stored["description"])
        assert stored_public_key(stored, "m.cross_signing.master", key) == master
        assert stored_public_key(stored, "m.cross_signing.self_signing", key) == self_signing

        before = status_lines(bot)
        assert before["device"] == f"{first} (crypto store present)"
        assert before["cross-signed"].startswith("yes")
        assert before["master key"] == master
        assert before["recovery key"].startswith("works")
        assert before["stale devices"] == "none"

        assert await bot.stop() == 0
        shutil.rmtree(store)
        await bot.start()
        second = device_of(bot)
        assert second != first
        await cross_signed_device(member, bot, second)
        assert await published(member, bot) == (master, self_signing)  # the same identity
        await gone(bot, first)
        assert second in await devices(bot)
        # the homeserver lists the device as gone before the bot has logged the deletion
        await bot.wait_for_log(f"deleted stale devices of the bot: {first}", timeout=WAIT)
        log = bot.log_tail(400)
        assert f"cross-signing identity {master} restored from secret storage" in log
        assert log.count("published cross-signing identity") == 1  # on the first start only
        assert "BOT_RECOVERY_KEY is not set" not in log
        assert recovery_key not in log and recovery_key.replace(" ", "") not in log

        after = status_lines(bot)
        assert after["device"] == f"{second} (crypto store present)"
        assert after["cross-signed"].startswith("yes") and after["master key"] == master
        assert after["recovery key"].startswith("works") and after["stale devices"] == "none"

        await new_room_key(member, room_id)  # the new device reads and answers
        assert (await ask(member, room_id, bot, "!hilfe")).startswith(HELP_TITLE)
    finally:
        await bot.stop()
        await member.close()


async def test_a_wrong_recovery_key_leaves_the_server_unchanged(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    right = new_recovery_key()
    member = await new_member(synapse, "member")
    bot = await new_bot(
        synapse, tmp_path / "bot", f"bot-{uuid.uuid4().hex[:8]}", recovery_key=right
    )
    store = bot.directory / "store"
    try:
        await bot.start()
        first = device_of(bot)
        await cross_signed_device(member, bot, first)
        await bot.wait_for_log("cross-signing keys saved in secret storage", timeout=WAIT)
        identity = await published(member, bot)
        stored = json.dumps(await secret_storage(bot), sort_keys=True)
        assert await bot.stop() == 0

        shutil.rmtree(store)
        bot.env["BOT_RECOVERY_KEY"] = new_recovery_key()
        await bot.start()
        second = device_of(bot)
        await bot.wait_for_log("cross-signing not set up", timeout=WAIT)
        log = bot.log_tail(400)
        assert log.count("BOT_RECOVERY_KEY: the secret storage on the server holds") == 1
        assert "it stays, and this device stays unsigned" in log
        assert json.dumps(await secret_storage(bot), sort_keys=True) == stored
        assert await published(member, bot) == identity  # not replaced
        await gone(bot, first)  # the stale device goes all the same
        wrong = status_lines(bot, expect=1)
        assert wrong["cross-signed"].startswith("no") and wrong["master key"] == identity[0]
        assert wrong["recovery key"].startswith("does not work")

        assert await bot.stop() == 0  # the operator sets the right key: the device is signed
        bot.env["BOT_RECOVERY_KEY"] = right
        await bot.start()
        assert device_of(bot) == second
        await cross_signed_device(member, bot, second)
        assert await published(member, bot) == identity
        assert json.dumps(await secret_storage(bot), sort_keys=True) == stored
    finally:
        await bot.stop()
        await member.close()
