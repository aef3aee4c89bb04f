"""Read and set this node's identity (mla.core.models.NodeIdentity)."""

from django.db import transaction

from mla.core.errors import ApplicationError
from mla.core.models import NodeIdentity


def node_identity() -> NodeIdentity | None:
    """This node's name and base URL, or None before ``node_init`` has run."""
    return NodeIdentity.objects.filter(pk=NodeIdentity.SINGLETON).first()


@transaction.atomic
def node_identity_set(*, name: str, base_url: str) -> NodeIdentity:
    """Name this node and give its public base URL (without a trailing slash)."""
    name = name.strip()
    base_url = base_url.strip().rstrip("/")
    if not name:
        raise ApplicationError("The node needs a name.")
    if not base_url.startswith(("https://", "http://")):
        raise ApplicationError(
            f"The base URL must start with https:// (or http:// for a test): {base_url!r}."
        )
    identity, _ = NodeIdentity.objects.update_or_create(
        pk=NodeIdentity.SINGLETON, defaults={"name": name, "base_url": base_url}
    )
    return identity
