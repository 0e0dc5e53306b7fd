"""/healthz and /metrics as an operator's monitoring sees them."""

from __future__ import annotations

import time
from collections.abc import Callable

import aiohttp
from aiohttp import web

from bot.adapters.web import build_app, start_http
from bot.demo.homeserver import free_port
from bot.services import Services
from storage.db import Database


async def _get(app: web.Application, path: str) -> tuple[int, str]:
    port = free_port()
    runner = await start_http(app, "127.0.0.1", port)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}{path}") as resp:
                return resp.status, await resp.text()
    finally:
        await runner.cleanup()


def app_of(services: Services, last_sync: Callable[[], float]) -> web.Application:
    return build_app(last_sync, services.db.ping, services.metrics.render, [])


async def test_healthy_after_a_recent_sync(services) -> None:
    status, body = await _get(app_of(services, time.monotonic), "/healthz")
    assert status == 200 and '"status": "ok"' in body


async def test_unhealthy_before_the_first_sync_and_when_stale(services) -> None:
    status, body = await _get(app_of(services, lambda: 0.0), "/healthz")
    assert status == 503 and '"sync": "starting"' in body
    stale = time.monotonic() - 3600
    status, body = await _get(app_of(services, lambda: stale), "/healthz")
    assert status == 503 and '"sync": "stale"' in body


async def test_unhealthy_when_the_database_is_down(services) -> None:
    gone = Database(f"postgresql+asyncpg://bot@127.0.0.1:{free_port()}/gone")
    app = build_app(time.monotonic, gone.ping, services.metrics.render, [])
    status, body = await _get(app, "/healthz")
    assert status == 503 and '"database": "down"' in body


async def test_metrics_count_commands(services, chat) -> None:
    await chat("!hilfe")
    status, body = await _get(app_of(services, time.monotonic), "/metrics")
    assert status == 200
    assert 'bot_commands_total{command="hilfe"} 1.0' in body
