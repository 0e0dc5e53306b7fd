"""Server-side secret storage (SSSS, `m.secret_storage`) opened with a recovery key.

Matrix clients keep secrets such as the cross-signing private keys in the account data,
encrypted with a 32-byte secret storage key that the user holds as a "recovery key" (the spec's
Client-Server API, "Secrets" and "Key representation"):

- the recovery key is the key with the prefix 0x8B 0x01 and a parity byte (the XOR of all bytes
  before it), base58 encoded (Bitcoin alphabet) and shown in groups of four characters;
- `m.secret_storage.default_key` names the key id; `m.secret_storage.key.<id>` describes the key:
  algorithm `m.secret_storage.v1.aes-hmac-sha2` with `iv` and `mac`, the MAC of 32 zero bytes
  encrypted with it, so a client can tell whether a key is the right one;
- a secret is stored as account data of its own name: `{"encrypted": {<key id>: {iv, ciphertext,
  mac}}}`, AES-CTR-256 and HMAC-SHA-256 with keys from HKDF-SHA-256 (salt 32 zero bytes, the
  secret's name as info); base64 is written unpadded and read with or without padding.

The crypto is pycryptodome's AES (a matrix-nio dependency) and the standard library's HMAC.
Nothing here logs or returns the key itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from Crypto.Cipher import AES

from bot.adapters.matrix.client_api import get_account_data, put_account_data
from config.recovery_key import (
    KEY_BYTES,
)

if TYPE_CHECKING:
    from nio import AsyncClient

log = logging.getLogger(__name__)

ALGORITHM = "m.secret_storage.v1.aes-hmac-sha2"
DEFAULT_KEY = "m.secret_storage.default_key"
KEY_PREFIX = "m.secret_storage.key."


class SecretStorageError(Exception):
    """A stored secret cannot be decrypted with the key (wrong key, or the data was altered)."""


# -- the recovery key ---------------------------------------------------------------------


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def new_key_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


# -- m.secret_storage.v1.aes-hmac-sha2 ----------------------------------------------------


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def b64decode(text: str) -> bytes:
    """Unpadded or padded standard base64 (the spec asks clients to accept both)."""
    text = text.strip().rstrip("=")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _hkdf(key: bytes, info: str) -> tuple[bytes, bytes]:
    """HKDF-SHA-256 (RFC 5869) with 32 zero bytes as salt: the AES key and the MAC key."""
    prk = hmac.new(bytes(32), key, hashlib.sha256).digest()
    okm, block = b"", b""
    for counter in (1, 2):
        block = hmac.new(prk, block + info.encode() + bytes([counter]), hashlib.sha256).digest()
        okm += block
    return okm[:32], okm[32:]


def _ctr(aes_key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CTR-256 with the whole 16-byte IV as the initial counter block."""
    return AES.new(aes_key, AES.MODE_CTR, nonce=b"", initial_value=iv).encrypt(data)


def _new_iv() -> bytes:
    iv = bytearray(os.urandom(16))
    iv[8] &= 0x7F  # bit 63 cleared, as the spec asks (AES-CTR implementations differ there)
    return bytes(iv)


def encrypt(key: bytes, name: str, plaintext: bytes, iv: bytes | None = None) -> dict[str, str]:
    """The `AesHmacSha2EncryptedData` of `plaintext` stored as the secret `name`."""
    aes_key, mac_key = _hkdf(key, name)
    iv = iv if iv is not None else _new_iv()
    ciphertext = _ctr(aes_key, iv, plaintext)
    mac = hmac.new(mac_key, ciphertext, hashlib.sha256).digest()
    return {"iv": b64encode(iv), "ciphertext": b64encode(ciphertext), "mac": b64encode(mac)}


def decrypt(key: bytes, name: str, data: dict[str, Any]) -> bytes:
    """The plaintext of the secret `name`; SecretStorageError when the MAC does not fit."""
    aes_key, mac_key = _hkdf(key, name)
    try:
        iv, ciphertext, mac = (b64decode(str(data[part])) for part in ("iv", "ciphertext", "mac"))
    except (KeyError, TypeError, ValueError):
        raise SecretStorageError(f"{name} is not stored as iv, ciphertext and mac") from None
    if not hmac.compare_digest(hmac.new(mac_key, ciphertext, hashlib.sha256).digest(), mac):
        raise SecretStorageError(f"{name} does not decrypt with this key (MAC mismatch)")
    return _ctr(aes_key, iv, ciphertext)


def key_description(key: bytes, iv: bytes | None = None) -> dict[str, str]:
    """The `m.secret_storage.key.<id>` content: the key check (`iv`, and `mac` of 32 zero
    bytes encrypted with the key and the empty name) lets clients verify a typed-in key."""
    check = encrypt(key, "", bytes(32), iv)
    return {"algorithm": ALGORITHM, "iv": check["iv"], "mac": check["mac"]}


def key_fits(key: bytes, description: dict[str, Any]) -> bool:
    """Whether `key` is the key `description` describes. A description without a key check
    fits any key (the spec says so); decrypting a secret then tells."""
    if description.get("algorithm") != ALGORITHM:
        return False
    if "iv" not in description or "mac" not in description:
        return True
    try:
        expected = b64decode(str(description["mac"]))
        iv = b64decode(str(description["iv"]))
    except ValueError:
        return False
    if len(iv) != 16:
        return False
    return hmac.compare_digest(b64decode(key_description(key, iv)["mac"]), expected)


# -- the account data ---------------------------------------------------------------------


@dataclass
class Vault:
    """What the server's secret storage holds for a set of secret names, seen with one key.

    `key_id`: the id of the stored key that this key is (None when none is). `secrets`: the
    names it opens, decrypted. `locked`: names stored under keys it does not open.
    `problem`: why the bot must not write there (None when it may), in one line.
    """

    key_id: str | None = None
    secrets: dict[str, bytes] = field(default_factory=dict)
    locked: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def writable(self) -> bool:
        return self.problem is None


async def open_vault(client: AsyncClient, key: bytes, names: tuple[str, ...]) -> Vault:
    """Read the default key, its description and the secrets `names`, and open what `key`
    opens. Network and homeserver errors propagate (ApiError, OSError)."""
    vault = Vault()
    descriptions: dict[str, dict[str, Any] | None] = {}

    async def fits(key_id: str) -> bool:
        if key_id not in descriptions:
            descriptions[key_id] = await get_account_data(client, KEY_PREFIX + key_id)
        description = descriptions[key_id]
        return description is not None and key_fits(key, description)

    default = await get_account_data(client, DEFAULT_KEY)
    default_id = str((default or {}).get("key") or "") or None
    if default_id and await fits(default_id):
        vault.key_id = default_id
    for name in names:
        content = await get_account_data(client, name)
        if content is None:
            continue
        encrypted = content.get("encrypted")
        encrypted = encrypted if isinstance(encrypted, dict) else {}
        ordered = sorted(encrypted, key=lambda key_id: key_id != default_id)  # default first
        for key_id in ordered:
            if not isinstance(encrypted[key_id], dict) or not await fits(key_id):
                continue
            try:
                vault.secrets[name] = decrypt(key, name, encrypted[key_id])
            except SecretStorageError:
                continue
            vault.key_id = vault.key_id or key_id
            break
        else:
            vault.locked.append(name)
    if vault.locked:
        vault.problem = (
            f"the secret storage on the server holds {', '.join(vault.locked)} encrypted with "
            "another key than the recovery key"
        )
    elif vault.key_id is None and default_id and descriptions.get(default_id) is not None:
        vault.problem = (
            f"the secret storage on the server has another default key ({default_id}) than "
            "the recovery key"
        )
    return vault


async def store_secrets(
    client: AsyncClient, key: bytes, vault: Vault, values: dict[str, bytes]
) -> str:
    """Write `values` into the secret storage `vault` was read from (setting the key up as the
    default key first when the server has none); returns the key id. Only for a writable
    vault: a secret stored under another key is never replaced."""
    if not vault.writable:
        raise SecretStorageError(vault.problem or "the secret storage is not the bot's")
    key_id = vault.key_id
    if key_id is None:
        key_id = new_key_id()
        await put_account_data(client, KEY_PREFIX + key_id, key_description(key))
        await put_account_data(client, DEFAULT_KEY, {"key": key_id})
        log.info("secret storage set up on the server (key %s)", key_id)
        vault.key_id = key_id
    for name, value in values.items():
        if vault.secrets.get(name) == value:
            continue
        await put_account_data(client, name, {"encrypted": {key_id: encrypt(key, name, value)}})
        vault.secrets[name] = value
    return key_id
