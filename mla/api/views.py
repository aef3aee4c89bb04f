"""The pages of a user's own API tokens: the list, making one (its secret shown once, in the
answer to the form and nowhere else), and revoking one."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from mla.accounts.models import User
from mla.api.forms import ApiTokenForm
from mla.api.tokens import api_token_create, api_token_of, api_token_revoke, api_tokens_of
from mla.core.edge import errors_as_messages
from mla.core.errors import ApplicationError
from mla.core.reauthentication import recent_authentication_required

# Where a refusal of the service is shown on the form; others above it.
_FIELD_BY_CODE = {"invalid_scope": "scopes"}


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _is_verified(request: HttpRequest) -> bool:
    return bool(request.user.is_verified())  # type: ignore[union-attr]  # django-otp


@never_cache
def api_tokens_view(request: HttpRequest) -> HttpResponse:
    return render(request, "api/tokens.html", {"tokens": api_tokens_of(user=_user(request))})


# A token outlives the session that made it: made only after a recent password (and second
# factor), as new recovery codes are.
@recent_authentication_required(
    when=lambda request: request.method == "POST",
    return_to=lambda request: reverse("api_tokens:create"),
)
@never_cache
def api_token_create_view(request: HttpRequest) -> HttpResponseBase:
    user = _user(request)
    form = ApiTokenForm(request.POST or None)
    second_factor_asked = False
    if request.method == "POST" and form.is_valid():
        try:
            issued = api_token_create(
                user=user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
                second_factor_verified=_is_verified(request),
            )
        except ApplicationError as error:
            form.add_error(_FIELD_BY_CODE.get(error.code), error.message)
            second_factor_asked = error.code == "second_factor"
        else:
            # The secret is in this answer only: the node keeps its digest, the session
            # nothing, and the browser is asked not to keep the page.
            response = render(
                request, "api/token_created.html", {"token": issued.token, "secret": issued.secret}
            )
            response["Cache-Control"] = "no-store, private"
            return response
    return render(
        request,
        "api/token_create.html",
        {
            "form": form,
            "second_factor_asked": second_factor_asked,
            "create_url": reverse("api_tokens:create"),
        },
    )


@never_cache
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponseBase:
    """GET asks to confirm; POST revokes."""
    user = _user(request)
    token = api_token_of(user=user, token_id=token_id)
    if token is None:
        raise Http404
    if request.method == "POST":
        with errors_as_messages(request):
            api_token_revoke(token=token, actor=user)
            messages.success(
                request,
                _("The token “%(name)s” is revoked: it no longer works.") % {"name": token.name},
            )
        return redirect("api_tokens:list")
    return render(request, "api/token_revoke.html", {"token": token})
