from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsConfig(AppConfig):
    name = "mla.requests"
    label = "mla_requests"
    verbose_name = _("Requests")
