"""Pages of account administration (/accounts/users/) and of the one-time links users
follow to set their password. Thin: the services of mla.accounts.administration decide."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from contact_points.models import Authority
from mla.accounts.administration import (
    NODE_WIDE_ROLES,
    AccountLinkInvalid,
    UserNotManaged,
    account_link_password_set,
    account_link_resolve,
    authorities_assignable_by,
    invitation_resend,
    password_reset_send,
    roles_assignable_by,
    user_access_set,
    user_deactivate,
    user_invite,
    user_managed_get,
    user_reactivate,
)
from mla.accounts.client_ip import client_ip
from mla.accounts.models import AccountChange, AccountLinkPurpose, User
from mla.accounts.roles import Role
from mla.accounts.second_factor import user_has_second_factor
from mla.accounts.selectors import (
    account_changes_of,
    account_links_of,
    managed_users_list,
)
from mla.core.errors import ApplicationError
from mla.core.reauthentication import recent_authentication_required

LANGUAGE_CHOICES = User._meta.get_field("preferred_language").choices or []


def _administrator(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_account_administrator:
        raise Http404
    return user


def _managed(request: HttpRequest, user_id: int) -> tuple[User, User]:
    actor = _administrator(request)
    try:
        return actor, user_managed_get(actor=actor, user_id=user_id)
    except UserNotManaged as error:
        raise Http404 from error


def _detail_url(request: HttpRequest, user_id: int) -> str:
    return reverse("accounts:user_detail", args=[user_id])


class _AuthorityField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.identifier})"


class _AccessFields(forms.Form):
    """Authority and roles, offered as the actor may give them."""

    authority = _AuthorityField(label=gettext_lazy("Authority"), queryset=Authority.objects.none())
    roles = forms.MultipleChoiceField(
        label=gettext_lazy("Roles"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        authorities = authorities_assignable_by(actor=actor)
        field = self.fields["authority"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Authority.objects.filter(pk__in=[a.pk for a in authorities]).order_by(
            "country__code", "name"
        )
        if len(authorities) == 1:
            field.initial = authorities[0].pk
        roles = self.fields["roles"]
        assert isinstance(roles, forms.MultipleChoiceField)
        roles.choices = [(role.value, role.label) for role in roles_assignable_by(actor=actor)]


class InviteForm(_AccessFields):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=gettext_lazy("E-mail"))
    preferred_language = forms.ChoiceField(label=gettext_lazy("Language"), choices=LANGUAGE_CHOICES)

    field_order = [
        "username",
        "first_name",
        "last_name",
        "email",
        "preferred_language",
        "authority",
        "roles",
    ]


class AccessForm(_AccessFields):
    pass


class UserFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Name, username or e-mail"), required=False)
    authority = _AuthorityField(
        label=gettext_lazy("Authority"), queryset=Authority.objects.none(), required=False
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"), required=False)
    active = forms.ChoiceField(
        label=gettext_lazy("Active"),
        required=False,
        choices=[("", "—"), ("yes", gettext_lazy("Active")), ("no", gettext_lazy("Inactive"))],
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        authority = self.fields["authority"]
        assert isinstance(authority, forms.ModelChoiceField)
        authority.queryset = Authority.objects.filter(
            pk__in=[a.pk for a in authorities_assignable_by(actor=actor)]
        ).order_by("country__code", "name")
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = [("", "—"), *[(r.value, r.label) for r in Role]]


class PasswordSetForm(forms.Form):
    new_password1 = forms.CharField(
        label=gettext_lazy("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
        help_text=gettext_lazy(
            "At least 12 characters, not a common password, not only digits, not like your "
            "username."
        ),
    )
    new_password2 = forms.CharField(
        label=gettext_lazy("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("new_password1"), data.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("The two passwords differ."))
        return data


def _role_labels(names: list[str] | set[str]) -> list[str]:
    return [str(Role(name).label) if name in Role.values else name for name in sorted(names)]


def _change_lines(change: AccountChange) -> list[str]:
    """What a change did, in words: old → new for authority, roles and active."""
    lines: list[str] = []
    labels = {
        "authority": _("Authority"),
        "roles": _("Roles"),
        "active": _("Active"),
        "email": _("E-mail"),
        "expires": _("Link valid until"),
        "links_revoked": _("Links withdrawn"),
        "sessions_ended": _("Sessions ended"),
    }

    def shown(field: str, value: Any) -> str:
        if value is None or value == []:
            return "—"
        if field == "roles":
            return ", ".join(_role_labels(value))
        if field == "active":
            return _("yes") if value else _("no")
        return str(value)

    for field, value in change.changes.items():
        label = labels.get(field, field)
        if (
            isinstance(value, list)
            and len(value) == 2
            and field in ("authority", "roles", "active", "email")
        ):
            lines.append(f"{label}: {shown(field, value[0])} → {shown(field, value[1])}")
        else:
            lines.append(f"{label}: {shown(field, value)}")
    return lines


@never_cache
def users_list_view(request: HttpRequest) -> HttpResponse:
    actor = _administrator(request)
    form = UserFilterForm(request.GET or None, actor=actor)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "search": data.get("q") or "",
            "authority_id": data["authority"].pk if data.get("authority") else None,
            "role": data.get("role") or "",
            "active": {"yes": True, "no": False}.get(data.get("active") or ""),
        }
    users = list(managed_users_list(actor=actor, **filters)[:500])
    rows = [
        (user, _role_labels({group.name for group in getattr(user, "role_groups", [])}))
        for user in users
    ]
    return render(
        request,
        "accounts/users/list.html",
        {"form": form, "rows": rows, "truncated": len(users) == 500},
    )


@recent_authentication_required
@never_cache
def user_invite_view(request: HttpRequest) -> HttpResponseBase:
    actor = _administrator(request)
    form = InviteForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invited = user_invite(
                actor=actor,
                username=data["username"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                authority=data["authority"],
                roles=data["roles"],
                preferred_language=data["preferred_language"],
                address=client_ip(request),
            )
        except ApplicationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("%(user)s is invited: the e-mail with the link is on its way to %(email)s.")
                % {"user": invited.username, "email": invited.email},
            )
            return redirect("accounts:user_detail", user_id=invited.pk)
    return render(request, "accounts/users/invite.html", {"form": form})


@never_cache
def user_detail_view(request: HttpRequest, user_id: int) -> HttpResponse:
    actor, subject = _managed(request, user_id)
    roles = subject.role_names()
    form = AccessForm(
        initial={"authority": subject.authority_id, "roles": sorted(roles)}, actor=actor
    )
    kept_roles = [] if actor.is_node_administrator else _role_labels(roles & NODE_WIDE_ROLES)
    changes = [(change, _change_lines(change)) for change in account_changes_of(subject=subject)]
    return render(
        request,
        "accounts/users/detail.html",
        {
            "subject": subject,
            "roles": _role_labels(roles),
            "form": form,
            "has_second_factor": user_has_second_factor(user=subject),
            "has_password": subject.has_usable_password(),
            "links": account_links_of(user=subject),
            "invitation": AccountLinkPurpose.INVITATION,
            "changes": changes,
            "is_self": subject.pk == actor.pk,
            "kept_roles": kept_roles,
        },
    )


def _back_to_detail(request: HttpRequest, user_id: int) -> str:
    return _detail_url(request, user_id)


@require_POST
@recent_authentication_required(return_to=_back_to_detail)
def user_access_view(request: HttpRequest, user_id: int) -> HttpResponseBase:
    actor, subject = _managed(request, user_id)
    form = AccessForm(request.POST, actor=actor)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("accounts:user_detail", user_id=subject.pk)
    roles = set(form.cleaned_data["roles"])
    if not actor.is_node_administrator:
        # Roles the actor may not give or take are not on their form: they stay as they are.
        roles |= subject.role_names() & NODE_WIDE_ROLES
    try:
        change = user_access_set(
            actor=actor,
            user=subject,
            authority=form.cleaned_data["authority"],
            roles=roles,
            address=client_ip(request),
        )
    except UserNotManaged as error:
        raise Http404 from error
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Authority and roles saved.") if change else _("Nothing changed."),
        )
    return redirect("accounts:user_detail", user_id=subject.pk)


def _action(request: HttpRequest, user_id: int, service: Any, done: str) -> HttpResponseBase:
    actor, subject = _managed(request, user_id)
    try:
        service(actor=actor, user=subject, address=client_ip(request))
    except UserNotManaged as error:
        raise Http404 from error
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done % {"user": subject.username, "email": subject.email})
    return redirect("accounts:user_detail", user_id=subject.pk)


@require_POST
@recent_authentication_required(return_to=_back_to_detail)
def user_deactivate_view(request: HttpRequest, user_id: int) -> HttpResponseBase:
    return _action(
        request,
        user_id,
        user_deactivate,
        _("%(user)s is deactivated: their sessions ended and their links no longer work."),
    )


@require_POST
@recent_authentication_required(return_to=_back_to_detail)
def user_reactivate_view(request: HttpRequest, user_id: int) -> HttpResponseBase:
    return _action(request, user_id, user_reactivate, _("%(user)s is active again."))


@require_POST
@recent_authentication_required(return_to=_back_to_detail)
def password_reset_view(request: HttpRequest, user_id: int) -> HttpResponseBase:
    return _action(
        request,
        user_id,
        password_reset_send,
        _("A link to set a new password is on its way to %(email)s."),
    )


@require_POST
@recent_authentication_required(return_to=_back_to_detail)
def invitation_resend_view(request: HttpRequest, user_id: int) -> HttpResponseBase:
    return _action(
        request,
        user_id,
        invitation_resend,
        _("A new invitation is on its way to %(email)s; the previous link no longer works."),
    )


@login_not_required
@never_cache
def account_link_view(request: HttpRequest, token: str) -> HttpResponseBase:
    """Set a password with a one-time link; then the user is signed in, and the second
    factor step (or its enrolment, where one is required) follows."""
    try:
        link = account_link_resolve(token=token)
    except AccountLinkInvalid as error:
        return render(
            request, "accounts/users/link_invalid.html", {"reason": str(error)}, status=410
        )
    form = PasswordSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = account_link_password_set(
                token=token,
                password=form.cleaned_data["new_password1"],
                address=client_ip(request),
            )
        except AccountLinkInvalid as error:
            return render(
                request, "accounts/users/link_invalid.html", {"reason": str(error)}, status=410
            )
        except ApplicationError as error:
            form.add_error("new_password1", str(error))
        else:
            auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                _("Your password is set. Welcome, %(name)s.")
                % {"name": user.get_full_name() or user.username},
            )
            response = redirect(settings.LOGIN_REDIRECT_URL)
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                user.preferred_language,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
            return response
    return render(
        request,
        "accounts/users/link.html",
        {
            "form": form,
            "link_user": link.user,
            "invitation": link.purpose == AccountLinkPurpose.INVITATION,
            "expires_at": link.expires_at,
        },
    )
