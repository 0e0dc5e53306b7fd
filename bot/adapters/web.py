"""Health, metrics and the capabilities' routes over aiohttp (BOT_HTTP_HOST:BOT_HTTP_PORT)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.core.commands import Page

STALE_AFTER = 120.0  # seconds without a finished sync (the long poll is 30 s)

Endpoint = Callable[[], Awaitable[Page]]  # a capability's route, bound to the services


def build_app(
    last_sync: Callable[[], float],
    database_ok: Callable[[], Awaitable[bool]],
    metrics: Callable[[], bytes],
    routes: Sequence[tuple[str, str, Endpoint]],
) -> web.Application:
    """`/healthz` from the time of the last finished sync and a database ping, `/metrics`,
    and each (method, path, endpoint) a capability declared."""

    async def healthz(_: web.Request) -> web.Response:
        synced = last_sync()
        age = time.monotonic() - synced if synced else None
        sync_ok = age is not None and age < STALE_AFTER
        db_ok = await database_ok()
        body = {
            "status": "ok" if sync_ok and db_ok else "unhealthy",
            "sync": "ok" if sync_ok else ("starting" if age is None else "stale"),
            "sync_age_seconds": None if age is None else round(age, 1),
            "database": "ok" if db_ok else "down",
        }
        return web.json_response(body, status=200 if sync_ok and db_ok else 503)

    async def prometheus(_: web.Request) -> web.Response:
        return web.Response(body=metrics(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", prometheus)
    for method, path, endpoint in routes:
        app.router.add_route(method, path, _serving(endpoint))
    return app


def _serving(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(_: web.Request) -> web.Response:
        page = await endpoint()
        headers = {"Content-Type": page.content_type}
        if page.filename:
            headers["Content-Disposition"] = f'inline; filename="{page.filename}"'
        return web.Response(body=page.body, headers=headers)

    return serve


async def start_http(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
