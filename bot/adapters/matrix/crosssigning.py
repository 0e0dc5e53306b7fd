"""The bot's own cross-signing identity: master, self-signing and user-signing keys.

Clients that only talk to devices verified by their owner need the bot's device to carry a
signature of its self-signing key, which the master key signs. matrix-nio has no cross-signing
and the vodozemac binding exposes no free-standing ed25519 key, so the keys are made and used
with signedjson (PyNaCl ed25519 over canonical JSON, as the homeserver checks them).

The private keys live in `cross-signing.json` in the crypto store (mode 0600): they belong to
the same secret as the device. The file also names the device they signed, so a restart with
the same device costs no request, and a new device is signed once.

With a recovery key the keys are also kept in the server's secret storage (`m.cross_signing.*`
secrets, see `bot.secret_storage`), as Element keeps them: a device that lost its store restores
the same identity from there and signs itself, and members' clients see no change.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import AsyncClient
from signedjson.key import (
    decode_signing_key_base64,
    decode_verify_key_base64,
    encode_signing_key_base64,
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.sign import SignatureVerifyException, sign_json, verify_signed_json
from signedjson.types import SigningKey

from bot.adapters.matrix.client_api import call, password_auth
from bot.adapters.matrix.secret_storage import Vault, open_vault, store_secrets

log = logging.getLogger(__name__)

KEYS_FILE = "cross-signing.json"
USAGES = ("master", "self_signing", "user_signing")
SECRETS = {usage: f"m.cross_signing.{usage}" for usage in USAGES}  # secret names in SSSS


class CrossSigningError(Exception):
    """Cross-signing could not be set up; the message says why, in one line."""


@dataclass
class Identity:
    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey
    signed_device: str | None = None


def public(key: SigningKey) -> str:
    return encode_verify_key_base64(get_verify_key(key))


def _named(key: SigningKey) -> SigningKey:
    """Cross-signing key ids are `ed25519:<public key>`; signedjson uses `alg:version`."""
    key.version = public(key)
    return key


def new_identity() -> Identity:
    master, self_signing, user_signing = (_named(generate_signing_key("new")) for _ in range(3))
    return Identity(master, self_signing, user_signing)


def load_identity(path: Path) -> Identity | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        master, self_signing, user_signing = (
            _named(decode_signing_key_base64("ed25519", "seed", data[usage]))
            for usage in ("master", "self_signing", "user_signing")
        )
        return Identity(master, self_signing, user_signing, data.get("signed_device"))
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable %s (%s); making a new identity", path, exc)
        return None


def save_identity(path: Path, identity: Identity) -> None:
    """Write with owner-only permissions, replacing the old file in one step."""
    data = {
        "master": encode_signing_key_base64(identity.master),
        "self_signing": encode_signing_key_base64(identity.self_signing),
        "user_signing": encode_signing_key_base64(identity.user_signing),
        "signed_device": identity.signed_device,
    }
    partial = path.with_suffix(".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(data, file)
    os.chmod(partial, 0o600)
    os.replace(partial, path)


def key_object(user_id: str, usage: str, key: SigningKey) -> dict[str, Any]:
    return {"user_id": user_id, "usage": [usage], "keys": {f"ed25519:{public(key)}": public(key)}}


def upload_body(user_id: str, identity: Identity) -> dict[str, Any]:
    """The three public keys; the master key signs the other two."""
    body = {"master_key": key_object(user_id, "master", identity.master)}
    for usage, key in (
        ("self_signing", identity.self_signing),
        ("user_signing", identity.user_signing),
    ):
        body[f"{usage}_key"] = sign_json(key_object(user_id, usage, key), user_id, identity.master)
    return body


async def own_keys(client: AsyncClient) -> dict[str, Any]:
    """The homeserver's view of the bot's keys: `master_keys`, `device_keys`, ..."""
    status, data = await call(client, "POST", "/keys/query", {"device_keys": {client.user_id: []}})
    if status != 200:
        raise CrossSigningError(f"keys/query answered {status}: {data.get('error', data)}")
    return data


async def _upload_identity(client: AsyncClient, identity: Identity, password: str | None) -> None:
    """Publish the public keys; the homeserver asks for the password (user-interactive auth)."""
    body = upload_body(client.user_id, identity)
    status, data = await call(client, "POST", "/keys/device_signing/upload", body)
    if status == 401 and "flows" in data:
        if password is None:
            raise CrossSigningError("BOT_PASSWORD is needed to publish cross-signing keys")
        auth = password_auth(data, client.user_id, password)
        if auth is None:
            raise CrossSigningError("the homeserver offers no password step to publish keys")
        body["auth"] = auth
        status, data = await call(client, "POST", "/keys/device_signing/upload", body)
    if status != 200:
        raise CrossSigningError(f"device_signing/upload answered {status}: {data.get('error')}")


async def _sign_device(client: AsyncClient, identity: Identity, device: dict[str, Any]) -> None:
    """The self-signing key signs the device; the device signs the master key back."""
    assert client.olm is not None
    user_id, device_id = client.user_id, client.device_id
    unsigned = {k: v for k, v in device.items() if k not in ("signatures", "unsigned")}
    master = key_object(user_id, "master", identity.master)
    master["signatures"] = {user_id: {f"ed25519:{device_id}": client.olm.sign_json(master)}}
    body = {
        user_id: {
            device_id: sign_json(unsigned, user_id, identity.self_signing),
            public(identity.master): master,
        }
    }
    status, data = await call(client, "POST", "/keys/signatures/upload", body)
    if status != 200 or data.get("failures"):
        raise CrossSigningError(f"signatures/upload answered {status}: {data}")


def published_keys(keys: dict[str, Any], user_id: str) -> dict[str, str | None]:
    """The public cross-signing keys a `/keys/query` answer gives for `user_id`, by usage."""
    found: dict[str, str | None] = {}
    for usage in USAGES:
        entry = (keys.get(f"{usage}_keys") or {}).get(user_id) or {}
        values = list((entry.get("keys") or {}).values())
        found[usage] = str(values[0]) if len(values) == 1 else None
    return found


def _published(identity: Identity) -> dict[str, str | None]:
    return {
        "master": public(identity.master),
        "self_signing": public(identity.self_signing),
        "user_signing": public(identity.user_signing),
    }


def identity_secrets(identity: Identity) -> dict[str, bytes]:
    """The private keys as secret storage holds them: each 32-byte seed in unpadded base64."""
    return {
        SECRETS[usage]: encode_signing_key_base64(getattr(identity, usage)).encode()
        for usage in USAGES
    }


def identity_from_secrets(secrets: dict[str, bytes]) -> Identity | None:
    """The identity in decrypted secrets; None without the master and self-signing key. A
    missing user-signing key is made anew (it signs other users only: nobody sees it change)."""
    keys: dict[str, SigningKey] = {}
    for usage in USAGES:
        value = secrets.get(SECRETS[usage])
        if value is None:
            continue
        try:
            keys[usage] = _named(decode_signing_key_base64("ed25519", "seed", value.decode()))
        except (ValueError, UnicodeDecodeError):
            log.warning("secret %s in the secret storage is no ed25519 key", SECRETS[usage])
    if "master" not in keys or "self_signing" not in keys:
        return None
    user_signing = keys.get("user_signing") or _named(generate_signing_key("new"))
    return Identity(keys["master"], keys["self_signing"], user_signing)


@dataclass
class Trust:
    """How the homeserver's keys present one device: the master key (unpadded base64, None
    when none is published) and whether the device carries a valid signature of the
    self-signing key that the master key signed."""

    master: str | None
    cross_signed: bool
    reason: str


def device_trust(keys: dict[str, Any], user_id: str, device_id: str) -> Trust:
    """Check the chain master key → self-signing key → device in a `/keys/query` answer."""
    master = (keys.get("master_keys") or {}).get(user_id)
    self_signing = (keys.get("self_signing_keys") or {}).get(user_id)
    device = ((keys.get("device_keys") or {}).get(user_id) or {}).get(device_id)
    master_key = published_keys(keys, user_id)["master"]
    if device is None:
        return Trust(master_key, False, f"device {device_id} has no published keys")
    if not master or not self_signing or master_key is None:
        return Trust(master_key, False, "no cross-signing identity is published")
    try:
        [(ssk_id, ssk)] = self_signing["keys"].items()
        msk = decode_verify_key_base64("ed25519", master_key, master_key)
        verify_signed_json(self_signing, user_id, msk)
        verify = decode_verify_key_base64("ed25519", ssk_id.split(":", 1)[1], ssk)
        verify_signed_json(device, user_id, verify)
    except (SignatureVerifyException, ValueError, KeyError):
        return Trust(master_key, False, "the device carries no valid self-signing signature")
    return Trust(master_key, True, "signed by the self-signing key, which the master key signs")


Warn = Callable[[str], None]


async def bootstrap(
    client: AsyncClient,
    store: Path,
    password: str | None,
    recovery_key: bytes | None = None,
    warn: Warn = log.warning,
) -> bool:
    """Make sure the bot's identity is published and signs this device; True if work was done.

    Run after the device keys are uploaded. Idempotent: nothing happens when the file says this
    device is signed already (and, with a recovery key, the secret storage holds the identity).
    Which identity: the one in the store while the homeserver publishes it; else, with a
    recovery key, the one in the secret storage (restored, and published again if it is not);
    else the store's or a new one, which replaces the published one (that needs the password).
    A secret storage the recovery key does not open is never written; `warn` says why (once
    per call), and an identity kept there is not replaced.
    """
    path = store / KEYS_FILE
    local = load_identity(path)
    if recovery_key is None and local is not None and local.signed_device == client.device_id:
        return False
    keys = await own_keys(client)
    device = (keys.get("device_keys", {}).get(client.user_id) or {}).get(client.device_id)
    if device is None:
        raise CrossSigningError(f"device {client.device_id} has no published keys yet")
    published = published_keys(keys, client.user_id)
    vault: Vault | None = None
    if recovery_key is not None:
        vault = await open_vault(client, recovery_key, tuple(SECRETS.values()))
        if vault.problem:
            warn(f"BOT_RECOVERY_KEY: {vault.problem}; the bot leaves it unchanged")
    stored = identity_from_secrets(vault.secrets) if vault else None
    if local is not None and published["master"] == public(local.master):
        identity = local
    elif stored is not None:
        identity = stored
        log.info("cross-signing identity %s restored from secret storage", public(stored.master))
    elif vault is not None and vault.problem and published["master"]:
        raise CrossSigningError(
            f"the published identity {published['master']} is not in this crypto store and "
            "BOT_RECOVERY_KEY does not open the secret storage: it stays, and this device "
            "stays unsigned until the right recovery key is set"
        )
    else:
        identity = local or new_identity()
    if identity is not local:
        save_identity(path, identity)  # before upload: a published key is never lost
    if vault is not None and vault.writable:
        wanted = identity_secrets(identity)
        if any(vault.secrets.get(name) != value for name, value in wanted.items()):
            key_id = await store_secrets(client, recovery_key or b"", vault, wanted)
            log.info("cross-signing keys saved in secret storage (key %s)", key_id)
    if published != _published(identity):
        await _upload_identity(client, identity, password)
        log.info("published cross-signing identity %s", public(identity.master))
    elif identity.signed_device == client.device_id:
        return False
    await _sign_device(client, identity, device)
    identity.signed_device = client.device_id
    save_identity(path, identity)
    log.info("device %s signed by the bot's self-signing key", client.device_id)
    return True
