"""The flood limit: token buckets per member and for the bot as a whole."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.messages import UserId

PRUNE_INTERVAL = 60.0  # seconds between sweeps of the flood limiter's full buckets


@dataclass
class _Bucket:
    tokens: float
    last: float
    warned: bool = False

    def level(self, now: float, burst: int, per_minute: int) -> float:
        return min(burst, self.tokens + max(0.0, now - self.last) * per_minute / 60)


@dataclass
class FloodLimiter:
    """Token buckets: one per user (`burst` commands at once, then `per_minute`) and one for
    everyone together (`global_burst`, then `global_per_minute`; None: no global limit).

    A user's bucket that has filled up again is dropped, so memory holds only the users
    active within one refill time."""

    burst: int
    per_minute: int
    global_burst: int | None = None
    global_per_minute: int | None = None

    def __post_init__(self) -> None:
        self._buckets: dict[UserId, _Bucket] = {}
        self._global: _Bucket | None = None
        self._pruned = 0.0

    def allow(self, user: UserId, now: float) -> bool | None:
        """True: go ahead. False: the user is over the limit, warn once. None: stay silent
        (warned already, or the bot as a whole is over its budget: no warnings for all)."""
        self._prune(now)
        bucket = self._buckets.get(user)
        tokens = bucket.level(now, self.burst, self.per_minute) if bucket else float(self.burst)
        if tokens < 1:
            assert bucket is not None
            warned, bucket.tokens, bucket.last, bucket.warned = bucket.warned, tokens, now, True
            return None if warned else False
        if not self._take_global(now):
            return None
        self._buckets[user] = _Bucket(tokens - 1, now)
        return True

    def exhausted(self, user: UserId, now: float) -> bool:
        """Whether `allow` would refuse now (nothing is taken)."""
        bucket = self._buckets.get(user)
        if bucket is not None and bucket.level(now, self.burst, self.per_minute) < 1:
            return True
        return self._global_level(now) < 1

    def tracked(self) -> int:
        """How many users' buckets are kept (for tests and metrics)."""
        return len(self._buckets)

    def _global_level(self, now: float) -> float:
        if self.global_burst is None or self.global_per_minute is None:
            return float("inf")
        if self._global is None:
            self._global = _Bucket(float(self.global_burst), now)
        return self._global.level(now, self.global_burst, self.global_per_minute)

    def _take_global(self, now: float) -> bool:
        level = self._global_level(now)
        if self._global is None:
            return True  # no global limit
        self._global.tokens, self._global.last = level, now
        if level < 1:
            return False
        self._global.tokens -= 1
        return True

    def _prune(self, now: float) -> None:
        if now - self._pruned < PRUNE_INTERVAL:
            return
        self._pruned = now
        full = [
            user
            for user, bucket in self._buckets.items()
            if bucket.level(now, self.burst, self.per_minute) >= self.burst
        ]
        for user in full:
            del self._buckets[user]
