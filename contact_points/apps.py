from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ContactPointsConfig(AppConfig):
    name = "contact_points"
    verbose_name = _("Contact-point directory")

    def ready(self) -> None:
        from contact_points.reference_data import languages_sync

        post_migrate.connect(languages_sync, sender=self)
