import pytest
from django.urls import reverse

from mla.core.errors import ApplicationError
from mla.requests.access import (
    Share,
    may_edit,
    request_revoke,
    request_share,
    request_shares,
    visible_requests,
)
from mla.requests.drafting.services import request_create, request_link
from mla.requests.models import AuditEntry
from tests.support.factories import AuthorityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague_elsewhere(countries):
    unit = AuthorityFactory(identifier="fr-unit", name="Unité", country=countries["FR"])
    return UserFactory(username="colleague", authority=unit)


def test_the_issuing_authority_sees_its_requests_and_nobody_else(eio_draft, authorities):
    same_office = UserFactory(authority=authorities["paris"])
    elsewhere = UserFactory(authority=authorities["berlin"])

    assert list(visible_requests(user=same_office)) == [eio_draft]
    assert list(visible_requests(user=elsewhere)) == []


def test_a_share_with_a_colleague_can_be_revoked(eio_draft, prosecutor, colleague_elsewhere):
    request_share(request=eio_draft, actor=prosecutor, user=colleague_elsewhere)
    assert list(visible_requests(user=colleague_elsewhere)) == [eio_draft]

    request_revoke(request=eio_draft, actor=prosecutor, user=colleague_elsewhere)

    assert list(visible_requests(user=colleague_elsewhere)) == []
    assert list(AuditEntry.objects.filter(request=eio_draft).values_list("event", flat=True)) == [
        "created",
        "share",
        "revoke",
    ]


def test_a_share_with_a_unit_reaches_all_its_users(eio_draft, prosecutor, colleague_elsewhere):
    request_share(request=eio_draft, actor=prosecutor, authority=colleague_elsewhere.authority)
    newcomer = UserFactory(authority=colleague_elsewhere.authority)

    assert list(visible_requests(user=newcomer)) == [eio_draft]


def test_only_the_issuing_side_shares(eio_draft, colleague_elsewhere):
    with pytest.raises(
        ApplicationError, match=r"Only a prosecutor .* of the issuing authority shares"
    ):
        request_share(request=eio_draft, actor=colleague_elsewhere, user=colleague_elsewhere)


def test_the_issuing_authority_cannot_be_revoked(eio_draft, prosecutor, authorities):
    with pytest.raises(ApplicationError, match="always sees its own"):
        request_revoke(request=eio_draft, actor=prosecutor, authority=authorities["paris"])


def test_a_superuser_of_another_authority_sees_nothing(eio_draft, authorities):
    admin = UserFactory(authority=authorities["berlin"], is_superuser=True)

    assert list(visible_requests(user=admin)) == []


def test_the_list_costs_the_same_queries_whatever_its_length(
    client, prosecutor, countries, authorities, django_assert_max_num_queries
):
    client.force_login(prosecutor)
    for _ in range(3):
        request_create(actor=prosecutor, declaration_code="eio", executing_country=countries["DE"])
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("requests:list"))
    for _ in range(12):
        request_create(actor=prosecutor, declaration_code="eio", executing_country=countries["DE"])

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("requests:list"))

    assert len(response.context["rows"]) == 15
    assert response.context["outgoing"].next_cursor == ""


def test_sharing_from_the_page(client, eio_draft, prosecutor, colleague_elsewhere):
    client.force_login(prosecutor)

    client.post(reverse("requests:share", args=[*eio_draft.url_args]), {"username": "colleague"})
    client.force_login(colleague_elsewhere)
    assert client.get(eio_draft.get_absolute_url()).status_code == 200

    client.force_login(prosecutor)
    response = client.post(
        reverse("requests:share", args=[*eio_draft.url_args]), {"username": "nobody"}, follow=True
    )
    neutral = "Could not share with “nobody”: check the username with your colleague."
    assert neutral in response.content.decode()
    client.post(reverse("requests:revoke", args=[*eio_draft.url_args]), {"username": "colleague"})
    client.force_login(colleague_elsewhere)
    assert client.get(eio_draft.get_absolute_url()).status_code == 404


def test_the_list_separates_own_requests_from_shared_ones(
    client, eio_draft, authorities, countries, colleague_elsewhere
):
    from mla.requests.access import request_share as share

    theirs_author = UserFactory(authority=authorities["berlin"], roles=["prosecutor"])
    theirs = request_create(
        actor=theirs_author, declaration_code="mla", executing_country=countries["FR"]
    )
    share(request=theirs, actor=theirs_author, user=colleague_elsewhere)
    share(request=eio_draft, actor=eio_draft.created_by, user=colleague_elsewhere)
    client.force_login(colleague_elsewhere)

    response = client.get(reverse("requests:list"))

    assert response.context["rows"] == []
    shared = [item.reference for item, _title in response.context["others"]]
    assert sorted(shared) == sorted([eio_draft.reference, theirs.reference])


@pytest.mark.parametrize("target", ["both", "neither"])
def test_a_share_names_exactly_one_target(eio_draft, prosecutor, colleague_elsewhere, target):
    names = (
        {"user": colleague_elsewhere, "authority": colleague_elsewhere.authority}
        if target == "both"
        else {}
    )

    with pytest.raises(ApplicationError, match="one colleague or one authority"):
        request_share(request=eio_draft, actor=prosecutor, **names)
    with pytest.raises(ApplicationError, match="one colleague or one authority"):
        request_revoke(request=eio_draft, actor=prosecutor, **names)
    assert not AuditEntry.objects.filter(request=eio_draft, event__in=["share", "revoke"]).exists()


def test_an_unknown_and_an_inactive_user_get_the_same_answer(client, eio_draft, prosecutor):
    UserFactory(username="departed", is_active=False)
    client.force_login(prosecutor)
    url = reverse("requests:share", args=[*eio_draft.url_args])

    unknown = client.post(url, {"username": "nobody"}, follow=True).content.decode()
    inactive = client.post(url, {"username": "departed"}, follow=True).content.decode()

    assert "Could not share with “nobody”: check the username" in unknown
    assert "Could not share with “departed”: check the username" in inactive
    assert "No user" not in unknown + inactive


def test_a_share_is_read_only_unless_it_says_so(eio_draft, prosecutor, authorities, countries):
    reader = UserFactory(authority=authorities["berlin"], roles=["prosecutor"])
    editor = UserFactory(authority=authorities["berlin"], roles=["prosecutor"])
    request_share(request=eio_draft, actor=prosecutor, user=reader)
    request_share(request=eio_draft, actor=prosecutor, user=editor, edit=True)

    assert not may_edit(request=eio_draft, user=reader)
    assert may_edit(request=eio_draft, user=editor)
    assert set(request_shares(request=eio_draft)["users"]) == {
        Share(name=editor.username, edit=True),
        Share(name=reader.username, edit=False),
    }
    assert AuditEntry.objects.filter(event="share", payload__edit=True).count() == 1

    # Shared again without the right: the edit grant ends; revoked: so does the view.
    request_share(request=eio_draft, actor=prosecutor, user=editor)
    assert not may_edit(request=eio_draft, user=editor)
    request_share(request=eio_draft, actor=prosecutor, user=editor, edit=True)
    request_revoke(request=eio_draft, actor=prosecutor, user=editor)
    assert not may_edit(request=eio_draft, user=editor)
    assert list(visible_requests(user=editor)) == []


def test_an_edit_share_with_a_unit_lets_its_prosecutors_edit_not_its_clerks(
    eio_draft, prosecutor, colleague_elsewhere
):
    unit_prosecutor = UserFactory(authority=colleague_elsewhere.authority, roles=["prosecutor"])
    request_share(
        request=eio_draft, actor=prosecutor, authority=colleague_elsewhere.authority, edit=True
    )

    assert may_edit(request=eio_draft, user=unit_prosecutor)
    assert not may_edit(request=eio_draft, user=colleague_elsewhere)


def test_a_request_is_shared_to_edit_only_while_a_draft(ready_eio, prosecutor, colleague_elsewhere):
    with pytest.raises(ApplicationError, match="Only a draft can be shared to edit"):
        request_share(request=ready_eio, actor=prosecutor, user=colleague_elsewhere, edit=True)


def test_links_to_requests_the_viewer_cannot_see_are_not_shown(
    client, eio_draft, prosecutor, countries, colleague_elsewhere
):
    private = request_create(
        actor=prosecutor, declaration_code="eio", executing_country=countries["DE"]
    )
    request_link(request=eio_draft, target=private, actor=prosecutor)
    request_share(request=eio_draft, actor=prosecutor, user=colleague_elsewhere)

    client.force_login(colleague_elsewhere)
    page = client.get(reverse("requests:detail", args=[*eio_draft.url_args])).content.decode()
    client.force_login(prosecutor)
    own = client.get(reverse("requests:detail", args=[*eio_draft.url_args])).content.decode()

    assert private.reference not in page
    assert private.reference in own


def test_the_validator_reads_only_while_asked_to_validate(authorities, countries):
    from mla.instruments.declarations import declaration_for
    from mla.requests.lifecycle.issuing import request_return_for_changes, request_submit
    from tests.support.samples import complete_data

    judge_office = AuthorityFactory(
        identifier="fr-judge", country=countries["FR"], kind="investigating_judge"
    )
    judge = UserFactory(authority=judge_office, roles=["validating_authority"])
    officer = UserFactory(authority=authorities["paris_police"], roles=["investigator"])
    draft = request_create(
        actor=officer,
        declaration_code="eio",
        executing_country=countries["DE"],
        executing_authority=authorities["berlin"],
    )
    draft.data = complete_data(declaration_for("eio"))
    draft.data["K"]["issuer_type"] = "other_authority"
    draft.save()
    request_submit(request=draft, actor=officer, validating_authority=judge_office)
    assert list(visible_requests(user=judge)) == [draft]
    assert not may_edit(request=draft, user=judge)

    request_return_for_changes(request=draft, actor=judge, note="Name the offence.")

    draft.refresh_from_db()
    assert draft.state == "draft"
    assert list(visible_requests(user=judge)) == []
    assert not may_edit(request=draft, user=judge)
