import pytest

from contact_points.models import AcceptedLanguages
from mla.requests.services import request_create
from tests.factories import AuthorityFactory, CountryFactory, UserFactory


@pytest.fixture
def countries(db):
    france = CountryFactory(code="FR", name="France", eio_bound=True, budapest_party=True)
    germany = CountryFactory(code="DE", name="Germany", eio_bound=True, budapest_party=True)
    usa = CountryFactory(code="US", name="United States", eio_bound=False, budapest_party=True)
    policy = AcceptedLanguages.objects.create(country=germany, instrument="eio")
    policy.languages.set(["de", "en"])
    return {"FR": france, "DE": germany, "US": usa}


@pytest.fixture
def authorities(countries):
    return {
        "paris": AuthorityFactory(
            identifier="fr-paris",
            name="Parquet de Paris",
            country=countries["FR"],
            kind="prosecutor",
            postal_address="1 parvis du Tribunal\nParis",
            phone="+33144325151",
            email="parquet@justice-fr.example",
        ),
        "berlin": AuthorityFactory(
            identifier="de-berlin",
            name="Staatsanwaltschaft Berlin",
            country=countries["DE"],
            kind="prosecutor",
            instruments=["eio", "mla"],
            languages=["de"],
        ),
        "us_247": AuthorityFactory(
            identifier="us-247",
            name="US 24/7 point",
            country=countries["US"],
            kind="point_24_7",
            instruments=["preservation", "mla"],
            time_zone="America/New_York",
        ),
        "paris_police": AuthorityFactory(
            identifier="fr-police",
            name="Police unit",
            country=countries["FR"],
            kind="police",
        ),
    }


@pytest.fixture
def prosecutor(authorities):
    return UserFactory(
        username="camille",
        authority=authorities["paris"],
        roles=["prosecutor"],
        preferred_language="en",
    )


@pytest.fixture
def eio_draft(prosecutor, authorities, countries):
    return request_create(
        actor=prosecutor,
        declaration_code="eio",
        executing_country=countries["DE"],
        executing_authority=authorities["berlin"],
    )


@pytest.fixture
def berlin_staff(authorities):
    return UserFactory(
        username="kai",
        first_name="Kai",
        last_name="Weber",
        authority=authorities["berlin"],
        roles=["contact_point_staff"],
        preferred_language="en",
    )


@pytest.fixture
def ready_eio(eio_draft, prosecutor):
    """A complete EIO of the Paris prosecutor to Berlin, ready to send."""
    from mla.requests.declarations import declaration_for
    from mla.requests.lifecycle import request_submit
    from tests.mla.requests.samples import complete_data

    eio_draft.data = complete_data(declaration_for("eio"))
    eio_draft.data["K"]["issuer_type"] = "prosecutor"
    eio_draft.data.pop("L")
    eio_draft.save()
    return request_submit(request=eio_draft, actor=prosecutor)


@pytest.fixture
def sent_eio(ready_eio, prosecutor, berlin_staff):
    """Sent and delivered: (the Paris copy, the Berlin copy)."""
    from mla.requests.lifecycle import request_send

    request_send(request=ready_eio, actor=prosecutor)
    ready_eio.refresh_from_db()
    return ready_eio, ready_eio.counterpart
