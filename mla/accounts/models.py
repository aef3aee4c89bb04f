from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from mla.accounts.roles import Role


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

    @property
    def is_directory_administrator(self) -> bool:
        return self.has_role(Role.DIRECTORY_ADMINISTRATOR)
