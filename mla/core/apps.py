from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mla.core"
    label = "core"
    verbose_name = "Core"
