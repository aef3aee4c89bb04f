from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "mla.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # After each app whose permissions the roles hold has migrated, its permissions
        # exist and can be granted (roles_sync is idempotent).
        from django.apps import apps
        from django.contrib.auth.signals import user_logged_in

        from mla.accounts.roles import ROLE_PERMISSIONS
        from mla.accounts.signals import roles_sync, session_signed_in_record

        labels = {name.split(".")[0] for names in ROLE_PERMISSIONS.values() for name in names}
        for label in sorted(labels):
            post_migrate.connect(
                roles_sync,
                sender=apps.get_app_config(label),
                dispatch_uid=f"roles_sync:{label}",
            )
        user_logged_in.connect(session_signed_in_record, dispatch_uid="mla_session_signed_in")
