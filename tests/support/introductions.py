"""Partner introductions for the tests: the file another node (the session's foreign GnuPG
home, see tests/support/keys.py) makes with its own ``introduction_export``.

The tests run one database, so the partner's side is played for the time of the export and
undone: its entry, its country and its node name go, and this node's homes and name come
back. Make the file before this node's own entries, as the two nodes' directories are apart.
"""

from pathlib import Path

from contact_points.models import Authority, Country
from contact_points.services import authority_set_public_key
from mla.core.models import NodeIdentity
from mla.core.node import node_identity_set
from mla.exchange.introduction import introduction_export
from tests.support.factories import AuthorityFactory, CountryFactory
from tests.support.keys import ExchangeKeys, pinned_authority

PARTNER_NODE = ("Partner ministry node", "https://partner.example")
OUR_NODE = ("Our ministry node", "https://ours.example")
PARTNER_INBOX = "https://partner.example/exchange/inbox/"


def partner_introduction(
    settings,
    keys: ExchangeKeys,
    *,
    identifier: str = "cc-partner",
    inbox_url: str = PARTNER_INBOX,
    country: dict[str, object] | None = None,
    **authority_fields: object,
) -> bytes:
    """The introduction file the partner node hands us: its authority ``identifier``,
    hosted there with cc-partner's key pair (in Moldova unless ``country`` says otherwise,
    with ``authority_fields`` over the defaults)."""
    ours = settings.NODE_SECRET_GNUPG_HOME
    identity = NodeIdentity.objects.first()
    authorities = set(Authority.objects.values_list("pk", flat=True))
    countries = set(Country.objects.values_list("pk", flat=True))
    settings.NODE_SECRET_GNUPG_HOME = Path(keys.foreign_home)
    try:
        node_identity_set(name=PARTNER_NODE[0], base_url=PARTNER_NODE[1])
        fields: dict[str, object] = {
            "name": "Partner prosecutor's office",
            "languages": ["ro", "en"],
            "instruments": ["mla"],
            **authority_fields,
        }
        authority = AuthorityFactory(
            identifier=identifier,
            inbox_url=inbox_url,
            country=CountryFactory(
                **(country or {"code": "MD", "name": "Moldova", "eio_bound": False})
            ),
            **fields,
        )
        authority_set_public_key(authority=authority, armored=keys.armored[keys.partner])
        return introduction_export()
    finally:
        settings.NODE_SECRET_GNUPG_HOME = ours
        Authority.objects.exclude(pk__in=authorities).delete()
        Country.objects.exclude(pk__in=countries).delete()
        NodeIdentity.objects.all().delete()
        if identity is not None:
            node_identity_set(name=identity.name, base_url=identity.base_url)


def our_node(settings, keys: ExchangeKeys) -> Authority:
    """This node, named, hosting aa-sender with its pinned key pair (the secret home)."""
    settings.NODE_SECRET_GNUPG_HOME = Path(keys.secret_home)
    node_identity_set(name=OUR_NODE[0], base_url=OUR_NODE[1])
    return pinned_authority(
        "aa-sender",
        keys.armored[keys.sender],
        name="Our prosecutor's office",
        inbox_url="https://ours.example/exchange/inbox/",
    )
