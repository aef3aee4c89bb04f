from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

# The node's name when the settings keep the default (mla/settings/base.py): shown in the
# interface's language. A name a node chose is its own and shown as it is.
DEFAULT_NODE_NAME = "MLA exchange node"


def node_name() -> str:
    name = str(settings.NODE_NAME)
    return str(_("MLA exchange node")) if name == DEFAULT_NODE_NAME else name


def node(request: HttpRequest) -> dict[str, object]:
    return {"NODE_NAME": node_name()}
