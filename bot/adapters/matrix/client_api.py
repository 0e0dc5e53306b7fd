"""Plain client-server API calls that matrix-nio has no method for (cross-signing, account
data, device deletion), made through the nio client's session and access token."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp

if TYPE_CHECKING:
    from nio import AsyncClient

API = "/_matrix/client/v3"
NETWORK_ERRORS = (OSError, TimeoutError, aiohttp.ClientError)  # the homeserver is unreachable


class ApiError(Exception):
    """The homeserver refused a request; the message says which and why, in one line."""


async def call(
    client: AsyncClient, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    """`method` on API + `path`; the status and the JSON answer (empty when there is none)."""
    headers = {"Authorization": f"Bearer {client.access_token}"}
    data = None if body is None else json.dumps(body)
    resp = await client.send(method, API + path, data, headers)
    async with resp:
        try:
            answer = await resp.json(content_type=None)
        except ValueError:
            answer = None
        return resp.status, answer if isinstance(answer, dict) else {}


def password_auth(answer: dict[str, Any], user_id: str, password: str) -> dict[str, Any] | None:
    """The `auth` object answering a user-interactive auth challenge with the password, or None
    when the homeserver offers no password stage (for example behind an OAuth provider)."""
    flows = answer.get("flows") or []
    if not any(flow.get("stages") == ["m.login.password"] for flow in flows):
        return None
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
        "session": answer.get("session"),
    }


def account_data_path(user_id: str, event_type: str) -> str:
    return f"/user/{quote(user_id, safe='')}/account_data/{quote(event_type, safe='')}"


async def get_account_data(client: AsyncClient, event_type: str) -> dict[str, Any] | None:
    """The bot's global account data of `event_type`, or None when it has none."""
    status, data = await call(client, "GET", account_data_path(client.user_id, event_type))
    if status == 404:
        return None
    if status != 200:
        raise ApiError(f"reading account data {event_type} answered {status}: {_error(data)}")
    return data


async def put_account_data(client: AsyncClient, event_type: str, content: dict[str, Any]) -> None:
    status, data = await call(client, "PUT", account_data_path(client.user_id, event_type), content)
    if status != 200:
        raise ApiError(f"writing account data {event_type} answered {status}: {_error(data)}")


def _error(data: dict[str, Any]) -> str:
    return str(data.get("errcode") or data.get("error") or data or "no answer")
