"""Steps the browser journeys share."""

from playwright.sync_api import Page

from contact_points.models import Authority, Country
from mla.accounts.models import User
from mla.instruments.declarations import declaration_for
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.issuing import request_submit
from mla.requests.models import Request
from tests.support.factories import TEST_PASSWORD
from tests.support.samples import complete_data


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()


def ready_eio(*, prosecutor: User, country: Country, authority: Authority) -> Request:
    """A complete EIO of a prosecutor (no validation needed), submitted: ready to send."""
    draft = request_create(
        actor=prosecutor,
        declaration_code="eio",
        executing_country=country,
        executing_authority=authority,
    )
    draft.data = complete_data(declaration_for("eio"))
    draft.data["K"]["issuer_type"] = "prosecutor"
    draft.data.pop("L")
    draft.save()
    return request_submit(request=draft, actor=prosecutor)


def open_step(page: Page, name: str) -> None:
    """Open a step offered besides the likely one on a request's page (each sits in its own
    disclosure, closed at first)."""
    page.locator(f'details[data-step-disclosure="{name}"] > summary').click()
