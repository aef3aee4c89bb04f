"""The rate limit of each caller (a token, or a session's user): settings.API_RATE_LIMIT,
for example "600/m". Over it, 429 with Retry-After (the handler is in mla.api.main)."""

from django.conf import settings
from django.http import HttpRequest
from ninja.throttling import SimpleRateThrottle

from mla.api.auth import ApiCaller


class CallerRateThrottle(SimpleRateThrottle):
    scope = "api"

    def __init__(self) -> None:
        super().__init__(rate=settings.API_RATE_LIMIT)

    def allow_request(self, request: HttpRequest) -> bool:
        # Read at each call, so that a node's setting (and a test's) takes effect at once.
        self.rate = settings.API_RATE_LIMIT
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        caller = getattr(request, "auth", None)
        if not isinstance(caller, ApiCaller):
            return None  # refused before: nothing to count
        return self.cache_format % {"scope": self.scope, "ident": caller.ident}
