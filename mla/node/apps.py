from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NodeConfig(AppConfig):
    name = "mla.node"
    label = "mla_node"
    verbose_name = _("Node")
