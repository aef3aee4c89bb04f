"""What the e-Evidence regime (Regulation (EU) 2023/1543) records beyond a request's own
row and timeline."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from contact_points.models import Authority
from mla.requests.models import Request


class TransmittedItem(models.TextChoices):
    CERTIFICATE = "certificate", _("Certificate (EPOC or EPOC-PR)")
    DATA = "data", _("Produced data")
    ANNEX_III = "annex_iii", _("Information on the impossibility to execute (Annex III)")
    ANNEX_V = "annex_v", _("Confirmation of a request for production (Annex V)")
    ANNEX_VI = "annex_vi", _("Extension of the preservation (Annex VI)")
    DECISION = "decision", _("Enforcing authority's decision")
    OTHER = "other", _("Other")


class OtherMeansTransmission(models.Model):
    """A transmission about a request made by other means than the node's channel (Art.
    19(6)): when, where, to whom, how much and what. The request's timeline holds the same
    facts (event other_means_transmission); this row is what the Art. 28 statistics count,
    by the authority whose copy recorded it."""

    request = models.ForeignKey(
        Request, on_delete=models.PROTECT, related_name="other_means_transmissions"
    )
    # The authority whose copy recorded it (issuing for an outgoing copy, executing for an
    # incoming one), and that copy's direction: the statistics' scope.
    authority = models.ForeignKey(Authority, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=8, choices=Request.Direction.choices)
    transmitted_at = models.DateTimeField(_("date and time"))
    place = models.CharField(_("place"), max_length=200)
    recipient = models.CharField(_("recipient"), max_length=200)
    size_bytes = models.PositiveBigIntegerField(_("size in bytes"))
    item = models.CharField(_("what was transmitted"), max_length=16, choices=TransmittedItem)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["transmitted_at", "id"]
        indexes = [
            models.Index(fields=["authority", "transmitted_at"], name="other_means_period"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.item} {self.transmitted_at:%Y-%m-%d %H:%M}"
