"""Per-client rate limiting: a sliding window of the last minute's queries, in bounded memory.

A client is its address as the server saw it (forwarding headers count only from proxies the
operator named: see serve's --forwarded-allow-ips).  An IPv6 client is its /64 network: one
host is usually given a whole /64, and each of its 2^64 addresses would otherwise be a new client.
The table holds at most `max_clients` clients; when it is full the least recently seen goes.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_CLIENTS = 10_000  # about 3 MB at 30 queries a minute each


def client_key(host: str) -> str:
    """Return the key a client is counted under: an IPv4 address, an IPv6 /64 network, else the text itself."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimiter:
    """Allow each client `per_minute` queries in any 60 seconds (0: no limit)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_clients: int = MAX_CLIENTS):
        self.per_minute, self.clock, self.max_clients = per_minute, clock, max_clients
        self.seen: OrderedDict[str, deque[float]] = OrderedDict()
        self.lock = threading.Lock()

    def check(self, client: str) -> int:
        """Record a query from `client`; return 0 when allowed, else the seconds to wait before the next."""
        if self.per_minute <= 0:
            return 0
        now, key = self.clock(), client_key(client)
        with self.lock:
            window = self.seen.get(key)
            if window is None:
                while len(self.seen) >= self.max_clients:  # full: the least recently seen client goes
                    self.seen.popitem(last=False)
                window = self.seen[key] = deque(maxlen=self.per_minute)
            self.seen.move_to_end(key)
            while window and now - window[0] >= 60:
                window.popleft()
            if len(window) >= self.per_minute:
                return max(1, int(60 - (now - window[0])) + 1)
            window.append(now)
            return 0
