from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsConfig(AppConfig):
    name = "mla.requests"
    label = "mla_requests"
    verbose_name = _("Requests")

    def ready(self) -> None:
        from mla.notifications.messages import message_value_register
        from mla.requests.deadlines.escalation import remaining_render

        # The time left before a deadline, in a notification, worded when it is read.
        message_value_register("remaining", remaining_render)
