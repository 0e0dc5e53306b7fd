"""The bot's own cross-signing identity: master, self-signing and user-signing keys.

Clients that only talk to devices verified by their owner need the bot's device to carry a
signature of its self-signing key, which the master key signs. matrix-nio has no cross-signing
and the vodozemac binding exposes no free-standing ed25519 key, so the keys are made and used
with signedjson (PyNaCl ed25519 over canonical JSON, as the homeserver checks them).

The private keys live in `cross-signing.json` in the crypto store (mode 0600): they belong to
the same secret as the device. The file also names the device they signed, so a restart with
the same device costs no request, and a new device is signed once.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import AsyncClient
from signedjson.key import (
    SigningKey,
    decode_signing_key_base64,
    encode_signing_key_base64,
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.sign import sign_json

log = logging.getLogger(__name__)

KEYS_FILE = "cross-signing.json"
API = "/_matrix/client/v3"


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
    return Identity(*(_named(generate_signing_key("new")) for _ in range(3)))


def load_identity(path: Path) -> Identity | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        keys = [
            _named(decode_signing_key_base64("ed25519", "seed", data[usage]))
            for usage in ("master", "self_signing", "user_signing")
        ]
        return Identity(*keys, signed_device=data.get("signed_device"))
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


async def _call(
    client: AsyncClient, method: str, path: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {client.access_token}"}
    resp = await client.send(method, API + path, json.dumps(body), headers)
    async with resp:
        return resp.status, await resp.json(content_type=None)


async def own_keys(client: AsyncClient) -> dict[str, Any]:
    """The homeserver's view of the bot's keys: `master_keys`, `device_keys`, ..."""
    status, data = await _call(client, "POST", "/keys/query", {"device_keys": {client.user_id: []}})
    if status != 200:
        raise CrossSigningError(f"keys/query answered {status}: {data.get('error', data)}")
    return data


async def _upload_identity(client: AsyncClient, identity: Identity, password: str | None) -> None:
    """Publish the public keys; the homeserver asks for the password (user-interactive auth)."""
    body = upload_body(client.user_id, identity)
    status, data = await _call(client, "POST", "/keys/device_signing/upload", body)
    if status == 401 and "flows" in data:
        if password is None:
            raise CrossSigningError("BOT_PASSWORD is needed to publish cross-signing keys")
        body["auth"] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": client.user_id},
            "password": password,
            "session": data.get("session"),
        }
        status, data = await _call(client, "POST", "/keys/device_signing/upload", body)
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
    status, data = await _call(client, "POST", "/keys/signatures/upload", body)
    if status != 200 or data.get("failures"):
        raise CrossSigningError(f"signatures/upload answered {status}: {data}")


async def bootstrap(client: AsyncClient, store: Path, password: str | None) -> bool:
    """Make sure the bot's identity is published and signs this device; True if work was done.

    Run after the device keys are uploaded. Idempotent: nothing happens when the file says this
    device is signed already; an identity the homeserver does not know (a lost store, a reset)
    is replaced, which needs the password.
    """
    path = store / KEYS_FILE
    identity = load_identity(path)
    if identity is not None and identity.signed_device == client.device_id:
        return False
    keys = await own_keys(client)
    device = (keys.get("device_keys", {}).get(client.user_id) or {}).get(client.device_id)
    if device is None:
        raise CrossSigningError(f"device {client.device_id} has no published keys yet")
    published = (keys.get("master_keys", {}).get(client.user_id) or {}).get("keys", {})
    if identity is None or f"ed25519:{public(identity.master)}" not in published:
        identity = identity or new_identity()
        save_identity(path, identity)  # before upload: a published key is never lost
        await _upload_identity(client, identity, password)
        log.info("published cross-signing identity %s", public(identity.master))
    await _sign_device(client, identity, device)
    identity.signed_device = client.device_id
    save_identity(path, identity)
    log.info("device %s signed by the bot's self-signing key", client.device_id)
    return True
