import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from contact_points.models import Authority, Country
from mla.requests import lifecycle_rules


def canonical_json(data: Any) -> bytes:
    """The one byte form of structured data, for digests and embedded copies."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def request_is_complete(request: Any) -> bool:
    """The guard of leaving draft: the completeness check finds nothing."""
    return bool(request.is_complete)


class Request(ConcurrentTransitionMixin, models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        AWAITING_VALIDATION = "awaiting_validation", _("Awaiting validation")
        READY = "ready", _("Ready to send")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    reference = models.CharField(_("reference"), max_length=40, unique=True)
    declaration_code = models.CharField(_("request type"), max_length=40)
    issuing_authority = models.ForeignKey(
        Authority,
        on_delete=models.PROTECT,
        related_name="outgoing_requests",
        verbose_name=_("issuing authority"),
    )
    executing_country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="+", verbose_name=_("executing country")
    )
    executing_authority = models.ForeignKey(
        Authority,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incoming_requests",
        verbose_name=_("executing authority"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Changed only by the transitions below, through the services of mla.requests.lifecycle.
    state = FSMField(
        _("state"), max_length=32, choices=State.choices, default=State.DRAFT, protected=True
    )
    validating_authority = models.ForeignKey(
        Authority,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests_to_validate",
        verbose_name=_("validating authority"),
    )
    data = models.JSONField(_("structured data"), default=dict, blank=True)
    # Languages of the document's labels: the issuing side's and the executing side's.
    issuing_language = models.CharField(max_length=8, default="en")
    executing_language = models.CharField(max_length=8, default="en")
    # Bumped on every save of the data: a save from a stale page is detected, not lost.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    linked = models.ManyToManyField(
        "self", through="RequestLink", symmetrical=False, related_name="linked_from"
    )

    class Meta:
        ordering = ["-updated_at", "-id"]
        # The outgoing list's filter and order, so its first page is read from the index.
        indexes = [
            models.Index(fields=["issuing_authority", "-updated_at", "-id"], name="request_outbox")
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def data_digest(self) -> str:
        return hashlib.sha256(canonical_json(self.data)).hexdigest()

    # Guards are checked by has_transition_perm and again when the transition runs; the
    # permissions (who may act) are checked by the lifecycle services, which pass the user.

    @transition(
        field=state,
        source=State.DRAFT,
        target=RETURN_VALUE(State.AWAITING_VALIDATION, State.READY),
        conditions=[lambda request: request_is_complete(request)],
        permission=lambda request, user: lifecycle_rules.may_submit(request=request, user=user),
    )
    def submit(self) -> str:
        return self.State.AWAITING_VALIDATION if self.needs_validation else self.State.READY

    @transition(
        field=state,
        source=State.AWAITING_VALIDATION,
        target=State.READY,
        permission=lambda request, user: lifecycle_rules.may_validate(request=request, user=user),
    )
    def validate(self) -> None:
        pass

    @transition(
        field=state,
        source=State.AWAITING_VALIDATION,
        target=State.DRAFT,
        permission=lambda request, user: lifecycle_rules.may_validate(request=request, user=user),
    )
    def return_for_changes(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.DRAFT, State.AWAITING_VALIDATION, State.READY],
        target=State.WITHDRAWN,
        permission=lambda request, user: lifecycle_rules.may_withdraw(request=request, user=user),
    )
    def withdraw(self) -> None:
        pass

    @property
    def needs_validation(self) -> bool:
        from mla.requests.completeness import holds
        from mla.requests.declarations import declaration_for

        rule = declaration_for(self.declaration_code).needs_validation
        return holds(rule, self.data) if rule is not None else False

    @property
    def is_complete(self) -> bool:
        from mla.requests.completeness import request_completeness
        from mla.requests.declarations import declaration_for

        return not request_completeness(
            declaration=declaration_for(self.declaration_code), data=self.data
        )


class RequestLink(models.Model):
    """A request that follows or relates to an earlier one (e.g. the MLA after a preservation)."""

    from_request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="links_out")
    to_request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="links_in")
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["from_request", "to_request"], name="request_link_once"
            ),
            models.CheckConstraint(
                condition=~models.Q(from_request=models.F("to_request")),
                name="request_link_not_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_request} → {self.to_request}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # Stored under the digest, never under the name the user chose.
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    name = models.CharField(_("file name"), max_length=255)
    media_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class AuditEntry(models.Model):
    """One act on a request, chained by hash (see mla.requests.audit). Never updated."""

    request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="audit_entries")
    # Snapshots: the record must read the same after users or authorities change.
    request_reference = models.CharField(max_length=40)
    sequence = models.PositiveIntegerField()  # within the request
    position = models.PositiveBigIntegerField(unique=True)  # within the node
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=255)
    authority_name = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField()
    event = models.CharField(max_length=64)
    from_state = models.CharField(max_length=32, blank=True)
    to_state = models.CharField(max_length=32, blank=True)
    note = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    request_hash = models.CharField(max_length=64)
    node_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "sequence"], name="audit_sequence_once")
        ]

    def __str__(self) -> str:
        return f"{self.request_reference} #{self.sequence} {self.event}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit entries are append-only.")


class AuditChainHead(models.Model):
    """The end of the node-wide chain: its row lock serialises appends."""

    position = models.PositiveBigIntegerField(default=0)
    node_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head at {self.position}"


class RequestUserObjectPermission(UserObjectPermissionBase):
    """Per-request permissions of one user (a request shared with a named colleague)."""

    content_object = models.ForeignKey(Request, on_delete=models.CASCADE)


class RequestGroupObjectPermission(GroupObjectPermissionBase):
    """Per-request permissions of a group: each authority has one (see mla.requests.access)."""

    content_object = models.ForeignKey(Request, on_delete=models.CASCADE)
