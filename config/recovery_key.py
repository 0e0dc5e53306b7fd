"""The recovery key's text form (Matrix spec, "Key representation"): the 32-byte secret
storage key behind the prefix 0x8B 0x01 and a parity byte (the XOR of all bytes before it),
base58 encoded (Bitcoin alphabet), shown in groups of four characters. A settings format like
a duration, so `BOT_RECOVERY_KEY` is checked with the other settings."""

from __future__ import annotations

RECOVERY_PREFIX = b"\x8b\x01"
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
KEY_BYTES = 32


class RecoveryKeyError(ValueError):
    """The text is no recovery key; the message says why, never what the text was."""


def _base58_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(BASE58[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def _base58_decode(text: str) -> bytes:
    number = 0
    for char in text:
        digit = BASE58.find(char)
        if digit < 0:
            raise RecoveryKeyError("holds characters that are not base58 (0, O, I and l are none)")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def _parity(data: bytes) -> int:
    parity = 0
    for byte in data:
        parity ^= byte
    return parity


def encode_recovery_key(key: bytes) -> str:
    """The recovery key as clients show it: base58 in groups of four characters."""
    if len(key) != KEY_BYTES:
        raise ValueError("a secret storage key has 32 bytes")
    data = RECOVERY_PREFIX + key
    text = _base58_encode(data + bytes([_parity(data)]))
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def decode_recovery_key(text: str) -> bytes:
    """The 32-byte key in a recovery key; whitespace does not matter. RecoveryKeyError says
    what is wrong (characters, length, prefix or parity)."""
    data = _base58_decode("".join(text.split()))
    if len(data) != len(RECOVERY_PREFIX) + KEY_BYTES + 1:
        raise RecoveryKeyError("has the wrong length (a recovery key has 48 characters)")
    if not data.startswith(RECOVERY_PREFIX):
        raise RecoveryKeyError("is no Matrix recovery key (wrong prefix)")
    if _parity(data[:-1]) != data[-1]:
        raise RecoveryKeyError("fails its parity check (a typing error?)")
    return data[len(RECOVERY_PREFIX) : -1]
