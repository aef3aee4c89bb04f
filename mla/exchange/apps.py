from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "mla.exchange"
    label = "exchange"
    verbose_name = _("Exchange between authorities")

    def ready(self) -> None:
        from mla.exchange.channel import ExchangeChannel
        from mla.requests.lifecycle.channels import remote_channel_register

        # Requests and steps for authorities served on other nodes leave by the exchange.
        remote_channel_register(ExchangeChannel())
