from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "mla.exchange"
    label = "exchange"
    verbose_name = _("Exchange between authorities")

    def ready(self) -> None:
        from contact_points.hosting import held_keys_source_register
        from contact_points.signals import trust_change_applied, trust_changes_proposed
        from mla.exchange.anchor import CheckpointAnchors
        from mla.exchange.channel import ExchangeChannel
        from mla.exchange.keys import node_held_keys
        from mla.exchange.trust import on_trust_change_applied, on_trust_changes_proposed
        from mla.requests.audit import audit_anchor_source_register
        from mla.requests.lifecycle.channels import remote_channel_register

        # The staff dealing with a partner hear when its key or inbox URL changes.
        trust_change_applied.connect(on_trust_change_applied, dispatch_uid="exchange-trust")
        # The other directory administrators hear of a change waiting for their approval.
        trust_changes_proposed.connect(
            on_trust_changes_proposed, dispatch_uid="exchange-trust-proposed"
        )

        # An imported directory leaves the entries of the authorities hosted here as they are.
        held_keys_source_register(node_held_keys)

        # Requests and steps for authorities served on other nodes leave by the exchange.
        remote_channel_register(ExchangeChannel())

        # verify_audit checks the chain against the signed checkpoints the exchange keeps.
        audit_anchor_source_register(CheckpointAnchors())
