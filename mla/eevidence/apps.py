from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EevidenceConfig(AppConfig):
    name = "mla.eevidence"
    label = "mla_eevidence"
    verbose_name = _("e-Evidence")
