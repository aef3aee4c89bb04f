from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Permission
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from contact_points.validators import validate_time_zone
from mla.accounts.roles import ISSUE_REQUEST_PERMISSION, Role
from mla.core.models import AppendOnlyModel


def interface_languages() -> list[tuple[str, str]]:
    """The interface languages (settings.LANGUAGES), each named in itself: a callable, so that
    a new language needs no migration."""
    return [(code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES]


class UserManager(DjangoUserManager["User"]):
    """Django's manager, with the user's authority named by its directory identifier or its
    primary key (as `createsuperuser` passes it), and the authority's groups joined."""

    def _create_user(
        self, username: str, email: str | None, password: str | None, **extra_fields: Any
    ) -> "User":
        from contact_points.models import Authority
        from mla.accounts.services import user_authority_group_sync

        authority = extra_fields.get("authority")
        if authority is not None and not isinstance(authority, Authority):
            text = str(authority).strip()
            found = (
                Authority.objects.filter(pk=int(text)).first()
                if text.isdigit()
                else Authority.objects.filter(identifier=text).first()
            )
            if found is None:
                raise ValueError(f"No authority “{text}” in the directory.")
            extra_fields["authority"] = found
        user = super()._create_user(username, email, password, **extra_fields)  # type: ignore[misc]  # not in the stubs
        user_authority_group_sync(user=user)
        return user


class User(AbstractUser):  # type: ignore[django-manager-missing]  # django-otp is untyped
    """A person using the node, always acting for one authority of the directory."""

    authority = models.ForeignKey(
        "contact_points.Authority",
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name=_("authority"),
    )
    preferred_language = models.CharField(
        _("interface language"),
        max_length=8,
        choices=interface_languages,
        default="en",
    )
    # Blank: the authority's zone (the directory's), so that a move of the authority or a
    # correction of its entry reaches every user who did not choose otherwise.
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        default="",
        validators=[validate_time_zone],
        help_text=_("Times are shown in this zone. Empty: your authority's time zone."),
    )

    REQUIRED_FIELDS = ["email", "authority"]

    objects = UserManager()  # type: ignore[misc]

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def zone(self) -> str:
        """The IANA zone this user reads times in: their own choice, else their authority's."""
        return self.time_zone or self.authority.time_zone or "UTC"

    def _roles_read(self) -> tuple[set[str], bool]:
        """The user's roles, and whether one of them issues requests: one query, cached on
        the instance (templates and lists ask several times per page, lists once per row).

        Authority groups ("authority:…", "authority-shared:…") are not roles. Issuing is
        read from the roles' permission, never from ``is_superuser``: running the node does
        not make anyone a prosecutor.
        """
        cached: tuple[set[str], bool] | None = getattr(self, "_roles", None)
        if cached is None:
            names: set[str] = set()
            issuing = False
            if self.pk is not None:
                app_label, codename = ISSUE_REQUEST_PERMISSION.split(".")
                issue_permission = Permission.objects.filter(
                    group=models.OuterRef("pk"),
                    content_type__app_label=app_label,
                    codename=codename,
                )
                for name, issues in (
                    self.groups.exclude(name__startswith="authority:")
                    .exclude(name__startswith="authority-shared:")
                    .annotate(issues=models.Exists(issue_permission))
                    .values_list("name", "issues")
                ):
                    names.add(name)
                    issuing = issuing or bool(issues)
            cached = (names, issuing)
            self._roles = cached
        return cached

    def role_names(self) -> set[str]:
        return self._roles_read()[0]

    def has_role(self, role: Role | str) -> bool:
        return str(role) in self.role_names()

    def holds_issuing_role(self) -> bool:
        """Whether one of the user's roles may issue requests (a role an administrator
        marks as issuing by giving its group the permission)."""
        return self.is_active and self._roles_read()[1]

    @property
    def is_directory_administrator(self) -> bool:
        return self.has_role(Role.DIRECTORY_ADMINISTRATOR)

    @property
    def is_node_administrator(self) -> bool:
        """Runs the whole node: a superuser, or a holder of the node administrator role."""
        return self.is_active and (self.is_superuser or self.has_role(Role.NODE_ADMINISTRATOR))

    @property
    def is_account_administrator(self) -> bool:
        """Manages the accounts of their own authority (a node administrator: of all)."""
        return self.is_active and (
            self.is_node_administrator or self.has_role(Role.ACCOUNT_ADMINISTRATOR)
        )


class SecurityEventKind(models.TextChoices):
    SIGNED_IN_WITH_SECOND_FACTOR = "signed_in_second_factor", _("Signed in with a second factor")
    SECOND_FACTOR_FAILED = "second_factor_failed", _("Second factor refused")
    FACTOR_ENROLLED = "factor_enrolled", _("Second factor added")
    FACTOR_REMOVED = "factor_removed", _("Second factor removed")
    RECOVERY_CODES_GENERATED = "recovery_codes_generated", _("Recovery codes generated")
    RECOVERY_CODE_USED = "recovery_code_used", _("Recovery code used")
    REAUTHENTICATED = "reauthenticated", _("Identity confirmed again")
    SESSION_ENDED = "session_ended", _("Session ended at its maximum lifetime")


class SecurityEvent(AppendOnlyModel):
    """One security event of an account, kept for good: rows are added, never changed.

    The username is copied so that the row still says who it was if the user is deleted.
    """

    user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        related_name="security_events",
        verbose_name=_("user"),
    )
    username = models.CharField(_("username"), max_length=150)
    kind = models.CharField(_("event"), max_length=40, choices=SecurityEventKind.choices)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("account security event")
        verbose_name_plural = _("account security events")
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.username}: {self.get_kind_display()}"


class RecoveryCodeDevice(Device):
    """A user's set of one-time recovery codes, a django-otp device.

    Only a SHA-256 digest of each code is stored: the codes carry 50 random bits each, so
    a fast hash is enough, and a stolen table does not reveal them.
    """

    class Meta(Device.Meta):
        verbose_name = _("recovery codes")
        verbose_name_plural = _("recovery codes")

    def verify_token(self, token: Any) -> bool:
        from mla.accounts.second_factor import recovery_code_digest

        digest = recovery_code_digest(str(token))
        # One atomic update: the code is spent by exactly one of two concurrent attempts.
        spent = RecoveryCode.objects.filter(
            device=self, digest=digest, used_at__isnull=True
        ).update(used_at=timezone.now())
        return spent == 1


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "digest"], name="recovery_code_unique")
        ]

    def __str__(self) -> str:
        return f"recovery code #{self.pk} ({'used' if self.used_at else 'unused'})"


class AccountChangeKind(models.TextChoices):
    INVITED = "invited", _("Invited")
    INVITATION_RESENT = "invitation_resent", _("Invitation sent again")
    INVITATION_ACCEPTED = "invitation_accepted", _("Invitation accepted, password set")
    ACCESS_CHANGED = "access_changed", _("Authority or roles changed")
    DEACTIVATED = "deactivated", _("Deactivated")
    REACTIVATED = "reactivated", _("Reactivated")
    PASSWORD_RESET_SENT = "password_reset_sent", _("Password reset link sent")
    PASSWORD_RESET_DONE = "password_reset_done", _("Password set with a reset link")


class AccountChange(AppendOnlyModel):
    """One change an administrator made to an account (or the account's owner, following
    their one-time link), kept for good: rows are added, never changed.

    ``changes`` holds what changed as ``{"field": [old, new]}`` (roles as sorted lists,
    the authority by identifier, active as booleans). Usernames are copied so that the row
    still reads right whatever becomes of the accounts.
    """

    actor = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        related_name="account_changes_made",
        verbose_name=_("by"),
    )
    actor_username = models.CharField(_("by (username)"), max_length=150)
    subject = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        related_name="account_changes",
        verbose_name=_("account"),
    )
    subject_username = models.CharField(_("account (username)"), max_length=150)
    kind = models.CharField(_("change"), max_length=40, choices=AccountChangeKind.choices)
    changes = models.JSONField(_("what changed"), default=dict, blank=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("account change")
        verbose_name_plural = _("account changes")
        indexes = [models.Index(fields=["subject", "-created_at"])]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_username} → "
            f"{self.subject_username}: {self.get_kind_display()}"
        )


class AccountLinkPurpose(models.TextChoices):
    INVITATION = "invitation", _("Invitation")
    PASSWORD_RESET = "password_reset", _("Password reset")


class AccountLink(models.Model):
    """A one-time link e-mailed to a user to set their password (an invitation or a reset).

    The link carries this row's id and nonce, signed with the node's secret key: the row
    alone cannot make a link, and the signature alone cannot reuse one. It works once,
    until ``expires_at``, and not after it is revoked (a newer link, a deactivation).
    """

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="account_links", verbose_name=_("user")
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=AccountLinkPurpose.choices)
    nonce = models.CharField(max_length=43)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("sent by")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("one-time link")
        verbose_name_plural = _("one-time links")
        indexes = [models.Index(fields=["user", "purpose"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} #{self.pk} of {self.user_id}"

    def is_outstanding(self, *, now: Any = None) -> bool:
        moment = now or timezone.now()
        return self.used_at is None and self.revoked_at is None and self.expires_at > moment
