from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from mla.notifications.kinds import Kind


def is_site_relative(url: str) -> bool:
    """True for a path on this site ("/requests/X/"), never for another host or scheme."""
    # No allowed host: anything naming a host ("https://x", "//x", "/\\x") or a scheme
    # ("javascript:") is refused.
    return url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None)


class Notification(models.Model):
    """One message in a user's inbox, optionally copied by e-mail."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
        # The inbox index starts with the recipient and serves every lookup by it.
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=64, choices=Kind.choices)
    request = models.ForeignKey(
        "mla_requests.Request",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("request"),
    )
    # The text as first sent, in the recipient's language of that moment: what is shown of
    # a notification without a message (stored before messages existed).
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("text"), blank=True)
    # The words to translate when read (mla.notifications.messages); {} for older rows.
    message = models.JSONField(default=dict, blank=True, editable=False)
    # A path on this site; anything else is neither followed nor e-mailed.
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)
    # Same key, same recipient: one notification, however many times or places it is sent.
    dedupe_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notification_unique_dedupe_key",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox_idx"),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    def _rendered(self) -> tuple[str, str]:
        if not self.message:
            return self.subject, self.body
        from mla.notifications.messages import message_render

        try:
            return message_render(self.message)
        except (KeyError, TypeError, ValueError):
            # A message a later version words differently: the text as sent.
            return self.subject, self.body

    @property
    def text_subject(self) -> str:
        """The subject in the active language (the reader's)."""
        return self._rendered()[0]

    @property
    def text_body(self) -> str:
        """The text in the active language (the reader's)."""
        return self._rendered()[1]

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def safe_url(self) -> str:
        return self.url if is_site_relative(self.url) else ""


class EmailPreference(models.Model):
    """A user's choice to receive, or not, one kind of notification by e-mail.

    No row for a kind: the default of kinds.NOT_EMAILED_BY_DEFAULT applies.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="email_preferences",
        verbose_name=_("user"),
        db_index=False,  # the unique constraint's index starts with it
    )
    kind = models.CharField(_("kind"), max_length=64, choices=Kind.choices)
    email = models.BooleanField(_("by e-mail"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("e-mail preference")
        verbose_name_plural = _("e-mail preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="email_preference_unique_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.email}"
