"""The client's address as django-axes reads it (AXES_CLIENT_IP_CALLABLE): the one rule of
mla.core, so that login throttling, rate limits and /healthz agree on who the client is."""

from mla.core.client_ip import client_ip

__all__ = ["client_ip"]
