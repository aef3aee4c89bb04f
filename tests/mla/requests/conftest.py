"""e-Evidence certificates between the issuing authority and a service provider hosted here.

The certificates are built directly in "ready" with the fields the rules read (the drafting
path to it is the declarations' to test) and sent by the real service.
"""

from collections.abc import Callable
from typing import Any

import pytest

from contact_points.models import Country
from mla.instruments import eevidence
from mla.requests.access import request_grant_authority
from mla.requests.lifecycle.issuing import request_send
from mla.requests.models import Request
from tests.support.certificates import EPOC_DATA, EPOC_PR_DATA
from tests.support.factories import AuthorityFactory, UserFactory


@pytest.fixture
def provider(countries):
    """The designated establishment of a service provider in Germany, on this node (France
    and Germany both bound by the Regulation)."""
    Country.objects.filter(code__in=("FR", "DE")).update(eevidence_bound=True)
    for country in countries.values():
        country.refresh_from_db()
    return AuthorityFactory(
        identifier="de-provider",
        name="Example Mail GmbH (designated establishment)",
        country=countries["DE"],
        kind="service_provider",
        instruments=[eevidence.EPOC, eevidence.EPOC_PR],
        time_zone="Europe/Berlin",
    )


@pytest.fixture
def provider_staff(provider):
    return UserFactory(
        username="pia",
        first_name="Pia",
        last_name="Schulz",
        authority=provider,
        roles=["provider_staff"],
        preferred_language="en",
    )


@pytest.fixture
def enforcing_authority(countries):
    """The enforcing authority of the provider's Member State, notified of EPOCs for
    traffic or content data (Art. 8)."""
    return AuthorityFactory(
        identifier="de-enforcing",
        name="Bundesamt für Justiz",
        country=countries["DE"],
        kind="central_authority",
        instruments=[eevidence.EPOC_NOTIFICATION],
        time_zone="Europe/Berlin",
    )


@pytest.fixture
def send_certificate(
    authorities, countries, prosecutor, provider, provider_staff, enforcing_authority
) -> Callable[..., tuple[Request, Request]]:
    """Send an EPOC or EPOC-PR of the Paris prosecutor to the provider: (issuing copy,
    provider's copy)."""
    made = iter(range(1, 1000))

    def send(
        code: str = eevidence.EPOC, data: dict[str, Any] | None = None
    ) -> tuple[Request, Request]:
        issuing = Request.objects.create(
            reference=f"FR-{code.upper().replace('_', '-')}-2026-{next(made):06d}",
            direction=Request.Direction.OUTGOING,
            declaration_code=code,
            issuing_authority=authorities["paris"],
            executing_country=countries["DE"],
            executing_authority=provider,
            created_by=prosecutor,
            state=Request.State.READY,
            data=dict(
                data
                if data is not None
                else (EPOC_DATA if code == eevidence.EPOC else EPOC_PR_DATA)
            ),
        )
        request_grant_authority(request=issuing, authority=authorities["paris"])
        request_send(request=issuing, actor=prosecutor)
        issuing.refresh_from_db()
        assert issuing.counterpart is not None
        return issuing, Request.objects.get(pk=issuing.counterpart.pk)

    return send
