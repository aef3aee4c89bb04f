"""Personal API tokens: a user's key for the systems around the node (/api/v1/).

The token itself is shown once, when it is made; the node keeps its SHA-256 only. A token is
long and random, so a plain digest is enough (no salt or slow hash: nothing to guess), and
the lookup is by its public identifier, the digest compared in constant time.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    READ = "read", _("Read requests, the queue, the directory and notifications")
    DRAFT = "draft", _("Create and change drafts, attach documents, submit")
    SEND = "send", _("Send, withdraw and share requests")
    EXECUTE = "execute", _("Work received requests: take, release and every step")
    DIRECTORY = "directory", _("Propose changes to the directory")
    WEBHOOKS = "webhooks", _("Register webhooks for the authority's requests")


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=100)
    # The token's public part, printed in it and in the list of tokens: "mla_<key_id>_…".
    key_id = models.CharField(_("identifier"), max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} (mla_{self.key_id}_…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
