from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address, for login throttling, rate limits and the health details.

    Behind TRUSTED_PROXY_COUNT reverse proxies, the address the outermost trusted proxy saw
    is that many entries from the end of X-Forwarded-For; anything before it was written by
    the client and is not trusted. With no proxy, REMOTE_ADDR is the client.
    """
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
