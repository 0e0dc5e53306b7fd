"""The bot's identity without a homeserver: cross-signing keys as secrets, the trust chain of a
device, which devices are the bot's stale ones, and the recovery key settings and commands."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
from signedjson.key import encode_verify_key_base64, generate_signing_key, get_verify_key
from signedjson.sign import sign_json

from bot.adapters.matrix.crosssigning import (
    SECRETS,
    device_trust,
    identity_from_secrets,
    identity_secrets,
    key_object,
    new_identity,
    public,
    published_keys,
    upload_body,
)
from bot.adapters.matrix.devices import DEVICE_NAME, stale_devices
from config.recovery_key import decode_recovery_key, encode_recovery_key
from config.settings import SettingsError, load_settings

USER = "@bot:localhost"
KEY = encode_recovery_key(bytes(range(32)))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("BOT_"):
            monkeypatch.delenv(name)


# -- cross-signing keys as secrets and the trust chain ----------------------------------------


def test_the_identity_round_trips_through_its_secrets() -> None:
    identity = new_identity()
    secrets = identity_secrets(identity)
    assert (
        set(secrets)
        == set(SECRETS.values())
        == {
            "m.cross_signing.master",
            "m.cross_signing.self_signing",
            "m.cross_signing.user_signing",
        }
    )
    assert all(len(value) == 43 and not value.endswith(b"=") for value in secrets.values())
    restored = identity_from_secrets(secrets)
    assert restored is not None
    assert [public(k) for k in (restored.master, restored.self_signing, restored.user_signing)] == [
        public(k) for k in (identity.master, identity.self_signing, identity.user_signing)
    ]
    padded = {name: value + b"=" for name, value in secrets.items()}  # other clients pad
    assert public(identity_from_secrets(padded).master) == public(identity.master)  # type: ignore[union-attr]


def test_a_missing_user_signing_key_is_made_anew_but_master_and_self_signing_are_needed() -> None:
    secrets = identity_secrets(new_identity())
    del secrets["m.cross_signing.user_signing"]
    assert identity_from_secrets(secrets) is not None
    del secrets["m.cross_signing.self_signing"]
    assert identity_from_secrets(secrets) is None


def _keys_answer(identity, device: dict, *, sign_device: bool = True) -> dict:
    body = upload_body(USER, identity)
    device = copy.deepcopy(device)  # sign_json signs in place
    if sign_device:
        device = sign_json(device, USER, identity.self_signing)
    return {
        "device_keys": {USER: {"DEV": device}},
        "master_keys": {USER: body["master_key"]},
        "self_signing_keys": {USER: body["self_signing_key"]},
        "user_signing_keys": {USER: body["user_signing_key"]},
    }


def test_device_trust_follows_master_to_self_signing_to_device() -> None:
    identity = new_identity()
    device_key = generate_signing_key("DEV")
    device = {
        "user_id": USER,
        "device_id": "DEV",
        "algorithms": ["m.olm.v1.curve25519-aes-sha2"],
        "keys": {"ed25519:DEV": encode_verify_key_base64(get_verify_key(device_key))},
    }
    device = sign_json(device, USER, device_key)
    answer = _keys_answer(identity, device)
    trust = device_trust(answer, USER, "DEV")
    assert trust.cross_signed and trust.master == public(identity.master)
    assert published_keys(answer, USER) == {
        "master": public(identity.master),
        "self_signing": public(identity.self_signing),
        "user_signing": public(identity.user_signing),
    }

    assert not device_trust(
        _keys_answer(identity, device, sign_device=False), USER, "DEV"
    ).cross_signed
    forged = _keys_answer(identity, device)
    other = new_identity()  # a self-signing key the master key did not sign
    forged["self_signing_keys"][USER] = key_object(USER, "self_signing", other.self_signing)
    forged["device_keys"][USER]["DEV"] = sign_json(copy.deepcopy(device), USER, other.self_signing)
    assert not device_trust(forged, USER, "DEV").cross_signed
    assert not device_trust(answer, USER, "OTHER").cross_signed
    assert device_trust({"device_keys": {USER: {"DEV": device}}}, USER, "DEV").master is None


def test_stale_devices_are_the_bots_own_other_devices_only() -> None:
    devices = [
        {"device_id": "NOW", "display_name": DEVICE_NAME},
        {"device_id": "OLD1", "display_name": DEVICE_NAME},
        {"device_id": "OLD2", "display_name": "renamed by the operator"},
        {"device_id": "ELEMENT", "display_name": "Element on the operator's laptop"},
        {"device_id": "REG"},
    ]
    assert stale_devices(devices, "NOW") == ["OLD1"]
    assert stale_devices(devices, "NOW", known=["OLD2"]) == ["OLD1", "OLD2"]
    assert stale_devices(devices, "OLD1") == ["NOW"]


# -- settings and commands ----------------------------------------------------------------


def test_a_recovery_key_is_validated_and_kept_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_RECOVERY_KEY", KEY)
    settings = load_settings()
    assert settings.recovery_key_bytes() == bytes(range(32))
    assert KEY not in repr(settings) and KEY.replace(" ", "") not in str(settings.model_dump())

    wrong = KEY[:-1] + ("a" if KEY[-1] != "a" else "b")
    monkeypatch.setenv("BOT_RECOVERY_KEY", wrong)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    [line] = caught.value.problems
    assert line.startswith("BOT_RECOVERY_KEY: invalid recovery key") and wrong not in line

    monkeypatch.setenv("BOT_RECOVERY_KEY", "")
    assert load_settings().recovery_key_bytes() is None


def test_a_recovery_key_file_is_an_alternative(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "recovery-key"
    path.write_text(KEY + "\n")
    monkeypatch.setenv("BOT_RECOVERY_KEY_FILE", str(path))
    assert load_settings().recovery_key_bytes() == bytes(range(32))

    monkeypatch.setenv("BOT_RECOVERY_KEY", KEY)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.problems == [
        "BOT_RECOVERY_KEY_FILE: set either BOT_RECOVERY_KEY or BOT_RECOVERY_KEY_FILE, not both"
    ]
    monkeypatch.delenv("BOT_RECOVERY_KEY")
    path.write_text("not a key")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.problems[0].startswith(f"BOT_RECOVERY_KEY_FILE: {path} holds no valid")
    monkeypatch.setenv("BOT_RECOVERY_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "cannot read" in caught.value.problems[0]


def _cli(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
        timeout=60,
    )


def test_new_recovery_key_prints_a_fresh_key_as_element_shows_it(tmp_path: Path) -> None:
    first = _cli("e2ee", "new-recovery-key", tmp_path=tmp_path)
    second = _cli("e2ee", "new-recovery-key", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key.split(" ")) == 12 and all(len(group) == 4 for group in key.split(" "))
    assert len(decode_recovery_key(key)) == 32
    assert key != second.stdout.strip()
    assert "BOT_RECOVERY_KEY" in first.stderr and key not in first.stderr


def test_check_says_valid_or_invalid_and_never_shows_the_key(tmp_path: Path) -> None:
    run = {"BOT_HOMESERVER": "http://127.0.0.1:1", "BOT_USER_ID": USER, "BOT_PASSWORD": "x"}
    good = _cli("check", tmp_path=tmp_path, BOT_RECOVERY_KEY=KEY, **run)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines() == ["BOT_RECOVERY_KEY: valid", "OK"]
    typo = KEY.replace("EsSz", "EsSZ")
    bad = _cli("check", tmp_path=tmp_path, BOT_RECOVERY_KEY=typo, **run)
    assert bad.returncode == 1
    assert bad.stdout.startswith("BOT_RECOVERY_KEY: invalid recovery key: it ")
    assert typo not in bad.stdout + bad.stderr and "EsSZ" not in bad.stdout + bad.stderr
