"""Per-client rate limiting: a sliding window of the last minute's queries, in memory."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Allow each client `per_minute` queries in any 60 seconds (0: no limit)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_clients: int = 100_000):
        self.per_minute, self.clock, self.max_clients = per_minute, clock, max_clients
        self.seen: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def check(self, client: str) -> int:
        """Record a query from `client`; return 0 when allowed, else the seconds to wait before the next."""
        if self.per_minute <= 0:
            return 0
        now = self.clock()
        with self.lock:
            if len(self.seen) > self.max_clients:  # many clients, each seen once: forget the quiet ones
                self.seen = {c: q for c, q in self.seen.items() if q and now - q[-1] < 60}
            window = self.seen.setdefault(client, deque())
            while window and now - window[0] >= 60:
                window.popleft()
            if len(window) >= self.per_minute:
                return max(1, int(60 - (now - window[0])) + 1)
            window.append(now)
            return 0
