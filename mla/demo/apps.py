from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    name = "mla.demo"
    label = "mla_demo"
    verbose_name = _("Demo")
