"""What this node is: its name and public address, set once by ``manage.py node_init``."""

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyModel(models.Model):
    """A record written once and never changed nor deleted through the ORM (an audit entry,
    a security event, a signed checkpoint). Where it matters most, a PostgreSQL trigger also
    refuses UPDATE and DELETE; QuerySet.update() and delete() bypass these methods."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError(f"{self._meta.verbose_name_plural} are append-only.".capitalize())
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError(f"{self._meta.verbose_name_plural} are append-only.".capitalize())


class NodeIdentity(models.Model):
    """The one row naming this node. Partners see the name in an introduction file; the
    inbox URLs of the authorities it hosts are made from the base URL."""

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON, editable=False)
    name = models.CharField(_("node name"), max_length=200)
    base_url = models.URLField(
        _("public base URL"),
        max_length=300,
        help_text=_("The address partners reach this node at, e.g. https://mla.example.org"),
    )
    initialised_at = models.DateTimeField(_("initialised at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("node identity")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="node_identity_singleton")
        ]

    def __str__(self) -> str:
        return self.name


class Heartbeat(models.Model):
    """The last sign of life of one of the node's background processes: Celery beat (it
    sends the heartbeat task), the worker of each queue (it runs it), or the embedded
    default's in-process scheduler. One row per name, overwritten at each beat."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    at = models.DateTimeField(_("last heartbeat"))

    class Meta:
        verbose_name = _("heartbeat")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} {self.at.isoformat()}"
