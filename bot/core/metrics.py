"""Prometheus metrics, in a registry of their own (nothing global)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "bot_events_handled", "Matrix events handled", ["kind"], registry=self.registry
        )
        self.commands = Counter(
            "bot_commands", "Commands handled by name", ["command"], registry=self.registry
        )
        self.errors = Counter("bot_errors", "Unexpected handler errors", registry=self.registry)
        self.latency = Histogram(
            "bot_reply_latency_seconds",
            "Time from receiving a message to the reply being sent",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.last_sync = Gauge(
            "bot_last_sync_timestamp_seconds", "When the last sync finished", registry=self.registry
        )

        self.queued = Gauge(
            "bot_queued_events",
            "Events read from sync and waiting in room queues",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
