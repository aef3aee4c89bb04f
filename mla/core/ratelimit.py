"""Fixed-window rate limits counted in the cache (Redis in production), shared by every
process of the node, for endpoints that anyone can reach (the exchange inbox)."""

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` in each window of `window_seconds`."""

    requests: int
    window_seconds: int


def rate_limit_hit(*, scope: str, key: str, limit: RateLimit) -> int | None:
    """Count one request of `key` (a client address) in `scope`.

    None when it is within the limit; otherwise the seconds until the window ends, for a
    Retry-After header. A cache that cannot be reached lets the request through (logged):
    the reverse proxy's own limit still holds, and the inbox must not go down with Redis.
    """
    now = time.time()
    window_start = int(now // limit.window_seconds) * limit.window_seconds
    # Hashed: an address (IPv6 included) is never a cache key's raw text.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}:{window_start}"
    try:
        cache.add(cache_key, 0, timeout=limit.window_seconds + 1)
        count = cache.incr(cache_key)
    except ValueError:
        # Expired between add and incr: this request opens the window again.
        cache.set(cache_key, 1, timeout=limit.window_seconds + 1)
        count = 1
    except Exception:  # any cache backend error: fail open, the proxy still limits
        logger.warning("Rate limit %s not counted: the cache is unavailable", scope, exc_info=True)
        return None
    if count <= limit.requests:
        return None
    return max(1, math.ceil(window_start + limit.window_seconds - now))
