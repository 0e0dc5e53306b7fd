"""What the framework itself needs of the process: settings, database, texts, metrics, clock
and the one scheduler. The process's full `Services` (bot/services.py) extend it with what
the capabilities keep in memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.core.i18n import Texts
from bot.core.jobs import Jobs
from bot.core.metrics import Metrics
from config.settings import Settings
from storage.db import Database


@dataclass
class Core:
    """Built once in main() and handed down; nothing global."""

    settings: Settings
    db: Database
    texts: Texts
    metrics: Metrics
    clock: Callable[[], datetime]
    jobs: Jobs
