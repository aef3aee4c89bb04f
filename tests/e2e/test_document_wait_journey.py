"""A PDF that a worker prepares: the page says so, waits, and the download starts by itself."""

import pytest
from playwright.sync_api import Page, expect

from mla.instruments.declarations import declaration_for
from mla.requests.documents.downloads import request_document_render
from mla.requests.drafting.services import request_create
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.journeys import log_in
from tests.support.samples import complete_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tasks_on_a_worker():
    """Tasks left to a worker (none runs here: the test does the worker's part)."""
    from mla.celery import app

    before = app.conf.task_always_eager
    app.conf.update(task_always_eager=False)
    yield
    app.conf.update(task_always_eager=before)


def test_the_pdf_page_waits_for_the_worker_then_downloads(
    live_server, page: Page, settings, tmp_path, tasks_on_a_worker
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PDF_POLL_SECONDS = 1
    france = CountryFactory(code="FR", name="France", eio_bound=True, budapest_party=True)
    germany = CountryFactory(code="DE", name="Germany", eio_bound=True, budapest_party=True)
    paris = AuthorityFactory(identifier="fr-paris", country=france, kind="prosecutor")
    user = UserFactory(
        username="camille", authority=paris, roles=["prosecutor"], preferred_language="en"
    )
    draft = request_create(actor=user, declaration_code="eio", executing_country=germany)
    draft.data = complete_data(declaration_for("eio"))
    draft.save()
    base = live_server.url

    log_in(page, base, "camille")
    page.goto(f"{base}{draft.get_absolute_url()}")
    page.get_by_role("link", name="Download the PDF").click()
    expect(page.get_by_role("status")).to_contain_text("The PDF is being prepared")

    with page.expect_download() as download_info:
        request_document_render(request_id=draft.pk)  # the worker's part
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert download.suggested_filename == f"{draft.reference}.pdf"
    assert target.read_bytes().startswith(b"%PDF-")
