"""Secret storage: the recovery key encoding, AES-HMAC-SHA2 and the key check, with known
vectors from matrix-rust-sdk's tests (crates/matrix-sdk-crypto/src/secret_storage.rs) and
matrix-js-sdk's (spec/unit/crypto-api/recovery-key.spec.ts), and the account-data logic over a
fake homeserver."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF

from bot.adapters.matrix import secret_storage as ss
from bot.adapters.matrix.secret_storage import (
    SecretStorageError,
    decrypt,
    encrypt,
    key_description,
    key_fits,
    open_vault,
    store_secrets,
)
from config.recovery_key import RecoveryKeyError, decode_recovery_key, encode_recovery_key

# matrix-rust-sdk, test base58_parsing
RUST_KEY_TEXT = "EsT           pRvZTnjck8    YrhRAtw XLS84Nr2r9S9LGAWDaExVAPBvLRK   "
RUST_KEY = bytes(
    [
        159, 189, 70, 187, 52, 81, 113, 198, 246, 2, 44, 154, 37, 213, 104, 27,
        165, 78, 236, 106, 108, 73, 83, 243, 173, 192, 185, 110, 157, 145, 173, 163,
    ]
)  # fmt: skip
# matrix-rust-sdk, test from_account_data_and_base58: a recovery key and its key description
MAC_KEY_TEXT = "EsTj 3yST y93F SLpB jJsz eAXc 2XzA ygD3 w69H fGaN TKBj jXEd"
MAC_DESCRIPTION = {
    "algorithm": "m.secret_storage.v1.aes-hmac-sha2",
    "iv": "xv5b6/p3ExEw++wTyfSHEg==",
    "mac": "ujBBbXahnTAMkmPUX2/0+VTfUh63pGyVRuBcDMgmJC8=",
}


# -- the recovery key ---------------------------------------------------------------------


def test_a_known_recovery_key_decodes_and_whitespace_does_not_matter() -> None:
    assert decode_recovery_key(RUST_KEY_TEXT) == RUST_KEY
    assert decode_recovery_key("".join(RUST_KEY_TEXT.split())) == RUST_KEY


def test_encoding_is_base58_with_prefix_and_parity_in_groups_of_four() -> None:
    text = encode_recovery_key(RUST_KEY)
    assert text.replace(" ", "") == "".join(RUST_KEY_TEXT.split())
    groups = text.split(" ")
    assert len(groups) == 12 and all(len(g) == 4 for g in groups)
    # matrix-js-sdk: the key 0, 1, ..., 31 is shown starting with "EsSz"
    assert encode_recovery_key(bytes(range(32))).startswith("EsSz")
    assert decode_recovery_key(encode_recovery_key(bytes(range(32)))) == bytes(range(32))
    assert encode_recovery_key(bytes(32)).startswith("Es")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("EsTpRvZTnjck8YrhRAtwXLS84Nr2r9S9LGAWDaExVAPBvLRk", "parity"),  # one letter changed
        ("AATpRvZTnjck8YrhRAtwXLS84Nr2r9S9LGAWDaExVAPBvLRk", "prefix"),
        ("AATpRvZTnjck8YrhRAtwXLS84Nr2r9S9", "length"),
        ("AATpRvZTnjck8YrhRAtwXLS84Nr0OIl", "base58"),
        ("", "length"),
    ],
)
def test_wrong_recovery_keys_say_why_without_repeating_the_key(text: str, why: str) -> None:
    with pytest.raises(RecoveryKeyError) as caught:
        decode_recovery_key(text)
    assert why in str(caught.value)
    if text:
        assert text not in str(caught.value)


def test_every_single_typing_error_is_caught() -> None:
    text = encode_recovery_key(RUST_KEY).replace(" ", "")
    for position in range(len(text)):
        for replacement in "12aZ":
            typo = text[:position] + replacement + text[position + 1 :]
            if typo != text:
                with pytest.raises(RecoveryKeyError):
                    decode_recovery_key(typo)


# -- m.secret_storage.v1.aes-hmac-sha2 ----------------------------------------------------


def test_the_key_check_of_a_known_key_description() -> None:
    key = decode_recovery_key(MAC_KEY_TEXT)
    assert key_fits(key, MAC_DESCRIPTION)
    assert not key_fits(RUST_KEY, MAC_DESCRIPTION)
    iv = base64.b64decode(MAC_DESCRIPTION["iv"])
    made = key_description(key, iv)
    assert made["mac"] == MAC_DESCRIPTION["mac"].rstrip("=")  # unpadded, as the spec asks
    assert made["iv"] == MAC_DESCRIPTION["iv"].rstrip("=")
    assert not key_fits(key, {**MAC_DESCRIPTION, "algorithm": "m.other"})
    assert key_fits(key, {"algorithm": ss.ALGORITHM})  # no check: the spec says assume valid


def test_hkdf_agrees_with_pycryptodome() -> None:
    for info in ("", "m.cross_signing.master"):
        expected = HKDF(RUST_KEY, 64, bytes(32), SHA256, context=info.encode())
        assert ss._hkdf(RUST_KEY, info) == (expected[:32], expected[32:])


def test_a_secret_round_trips_and_is_bound_to_key_name_and_content() -> None:
    secret = b"It's a secret to everybody"
    data = encrypt(RUST_KEY, "m.cross_signing.master", secret)
    assert set(data) == {"iv", "ciphertext", "mac"}
    assert not any(value.endswith("=") for value in data.values())
    assert base64.b64decode(data["iv"] + "==")[8] & 0x80 == 0  # bit 63 of the IV is clear
    assert decrypt(RUST_KEY, "m.cross_signing.master", data) == secret
    padded = {k: v + "=" * (-len(v) % 4) for k, v in data.items()}
    assert decrypt(RUST_KEY, "m.cross_signing.master", padded) == secret
    with pytest.raises(SecretStorageError):
        decrypt(decode_recovery_key(MAC_KEY_TEXT), "m.cross_signing.master", data)
    with pytest.raises(SecretStorageError):
        decrypt(RUST_KEY, "m.cross_signing.self_signing", data)
    tampered = bytearray(base64.b64decode(padded["ciphertext"]))
    tampered[0] ^= 1
    with pytest.raises(SecretStorageError):
        decrypt(RUST_KEY, "m.cross_signing.master", {**data, "ciphertext": ss.b64encode(tampered)})
    with pytest.raises(SecretStorageError):
        decrypt(RUST_KEY, "m.cross_signing.master", {"iv": data["iv"]})


def test_a_fixed_iv_gives_a_fixed_ciphertext() -> None:
    iv = bytes(16)
    first = encrypt(RUST_KEY, "name", b"abc", iv)
    assert first == encrypt(RUST_KEY, "name", b"abc", iv)
    assert first != encrypt(RUST_KEY, "other", b"abc", iv)


# -- the account data, over a fake homeserver -----------------------------------------------


@dataclass
class FakeResponse:
    status: int
    body: dict[str, Any]

    async def __aenter__(self) -> FakeResponse:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def json(self, content_type: str | None = None) -> dict[str, Any]:
        return self.body


@dataclass
class FakeHomeserver:
    """Global account data of one user, as nio's `send` reaches it."""

    user_id: str = "@bot:localhost"
    access_token: str = "token"
    account_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)

    async def send(
        self, method: str, path: str, data: str | None = None, headers: Any = None
    ) -> FakeResponse:
        prefix = f"/_matrix/client/v3/user/{self.user_id.replace('@', '%40').replace(':', '%3A')}"
        assert path.startswith(prefix + "/account_data/"), path
        event_type = unquote(path.rsplit("/", 1)[1])
        if method == "PUT":
            self.account_data[event_type] = json.loads(data or "{}")
            self.writes.append(event_type)
            return FakeResponse(200, {})
        if event_type in self.account_data:
            return FakeResponse(200, self.account_data[event_type])
        return FakeResponse(404, {"errcode": "M_NOT_FOUND"})


NAMES = ("m.cross_signing.master", "m.cross_signing.self_signing")


async def test_first_store_sets_up_a_default_key_clients_can_check() -> None:
    server = FakeHomeserver()
    key = ss.new_key()
    vault = await open_vault(server, key, NAMES)  # type: ignore[arg-type]
    assert vault.writable and vault.key_id is None and not vault.secrets
    key_id = await store_secrets(server, key, vault, {NAMES[0]: b"one", NAMES[1]: b"two"})  # type: ignore[arg-type]
    assert server.account_data[ss.DEFAULT_KEY] == {"key": key_id}
    description = server.account_data[ss.KEY_PREFIX + key_id]
    assert set(description) == {"algorithm", "iv", "mac"} and key_fits(key, description)
    assert list(server.account_data[NAMES[0]]["encrypted"]) == [key_id]

    again = await open_vault(server, key, NAMES)  # type: ignore[arg-type]
    assert again.key_id == key_id and again.secrets == {NAMES[0]: b"one", NAMES[1]: b"two"}
    server.writes.clear()
    await store_secrets(server, key, again, {NAMES[0]: b"one", NAMES[1]: b"2"})  # type: ignore[arg-type]
    assert server.writes == [NAMES[1]]  # only what changed, under the same key


async def test_another_key_never_overwrites_the_secrets() -> None:
    server = FakeHomeserver()
    owner = ss.new_key()
    vault = await open_vault(server, owner, NAMES)  # type: ignore[arg-type]
    await store_secrets(server, owner, vault, {NAMES[0]: b"one"})  # type: ignore[arg-type]
    before = json.dumps(server.account_data, sort_keys=True)

    stranger = await open_vault(server, ss.new_key(), NAMES)  # type: ignore[arg-type]
    assert not stranger.writable and stranger.locked == [NAMES[0]] and not stranger.secrets
    assert "another key" in (stranger.problem or "")
    with pytest.raises(SecretStorageError):
        await store_secrets(server, ss.new_key(), stranger, {NAMES[0]: b"x"})  # type: ignore[arg-type]
    assert json.dumps(server.account_data, sort_keys=True) == before


async def test_a_foreign_default_key_without_our_secrets_is_left_alone() -> None:
    server = FakeHomeserver()
    other = ss.new_key()
    server.account_data[ss.DEFAULT_KEY] = {"key": "theirs"}
    server.account_data[ss.KEY_PREFIX + "theirs"] = key_description(other)
    vault = await open_vault(server, ss.new_key(), NAMES)  # type: ignore[arg-type]
    assert not vault.writable and "default key (theirs)" in (vault.problem or "")
    assert (await open_vault(server, other, NAMES)).writable  # type: ignore[arg-type]
