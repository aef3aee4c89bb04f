"""Every URL of the requests app that names a request answers a request the user may not see
exactly as one that does not exist."""

import pytest
from django.urls import URLPattern, reverse

from mla.requests import urls as request_urls
from mla.requests.models import Request
from tests.support.factories import AuthorityFactory, UserFactory

pytestmark = pytest.mark.django_db


def _url_args(
    pattern: URLPattern, issuer: str, reference: str, *, attachment_id: int
) -> list[object]:
    values = {
        "issuer": issuer,
        "reference": reference,
        "section": "A",
        "action": "acknowledge",
        "attachment_id": attachment_id,
    }
    return [values[name] for name in pattern.pattern.converters]


REQUEST_URLS = [
    pattern
    for pattern in request_urls.urlpatterns
    if isinstance(pattern, URLPattern) and "reference" in pattern.pattern.converters
]


@pytest.mark.parametrize("pattern", REQUEST_URLS, ids=lambda pattern: pattern.name)
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_url_naming_a_request_answers_404_to_outsiders(client, sent_eio, pattern, method):
    issuing, executing = sent_eio
    outsider = UserFactory(
        authority=AuthorityFactory(identifier="ro-other"), roles=["contact_point_staff"]
    )
    client.force_login(outsider)

    issuer = issuing.issuing_authority.identifier

    def status(reference: str) -> int:
        url = reverse(
            f"requests:{pattern.name}",
            args=_url_args(pattern, issuer, reference, attachment_id=1),
        )
        return getattr(client, method)(url).status_code

    # Exactly as for a reference that does not exist: 404, or 405 for a GET of a POST-only
    # URL, which is answered before anything is looked up.
    assert status(issuing.reference) == status("XX-NONE-2026-000000")
    assert status(issuing.reference) == (404 if method == "post" else status("XX-NONE-2026-000000"))
    assert status(issuing.reference) in (404, 405)
    assert Request.objects.get(pk=executing.pk).state == Request.State.RECEIVED
