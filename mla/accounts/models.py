from django.contrib.auth.models import AbstractUser, Permission
from django.db import models
from django.utils.translation import gettext_lazy as _

from mla.accounts.roles import ISSUE_REQUEST_PERMISSION, Role


class User(AbstractUser):
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
        choices=[("en", "English"), ("fr", "Français")],
        default="en",
    )

    REQUIRED_FIELDS = ["email", "authority"]

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def role_names(self) -> set[str]:
        # Cached on the instance: templates ask several times per page.
        cached: set[str] | None = getattr(self, "_role_names", None)
        if cached is None:
            # Authority groups ("authority:…", "authority-shared:…") are not roles.
            cached = set(
                self.groups.exclude(name__startswith="authority:")
                .exclude(name__startswith="authority-shared:")
                .values_list("name", flat=True)
            )
            self._role_names = cached
        return cached

    def has_role(self, role: Role | str) -> bool:
        return str(role) in self.role_names()

    def holds_issuing_role(self) -> bool:
        """Whether one of the user's roles (or the user alone) may issue requests.

        Read from the permission, never from ``is_superuser``: running the node does not
        make anyone a prosecutor. Cached on the instance: lists ask once per row.
        """
        cached: bool | None = getattr(self, "_holds_issuing_role", None)
        if cached is None:
            app_label, codename = ISSUE_REQUEST_PERMISSION.split(".")
            cached = bool(
                self.is_active
                and self.pk is not None
                and Permission.objects.filter(
                    models.Q(group__user=self) | models.Q(user=self),
                    content_type__app_label=app_label,
                    codename=codename,
                ).exists()
            )
            self._holds_issuing_role = cached
        return cached

    @property
    def is_directory_administrator(self) -> bool:
        return self.has_role(Role.DIRECTORY_ADMINISTRATOR)
