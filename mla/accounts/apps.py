from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "mla.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # After contact_points has migrated, its permissions exist and can be granted.
        from django.apps import apps
        from django.contrib.auth.signals import user_logged_in

        from mla.accounts.signals import roles_sync, session_signed_in_record

        post_migrate.connect(roles_sync, sender=apps.get_app_config("contact_points"))
        user_logged_in.connect(session_signed_in_record, dispatch_uid="mla_session_signed_in")
