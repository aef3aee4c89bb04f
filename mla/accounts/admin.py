from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from mla.accounts.models import AccountChange, SecurityEvent, User
from mla.accounts.services import user_authority_group_sync


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "authority", "is_active", "is_staff"]
    list_filter = ["groups", "is_active", "is_staff", "authority__country"]
    list_select_related = ["authority__country"]
    search_fields = ["username", "first_name", "last_name", "email", "authority__name"]
    autocomplete_fields = ["authority"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,  # type: ignore[misc]
        (
            _("Authority and interface"),
            {"fields": ["authority", "preferred_language", "time_zone"]},
        ),
    ]

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        # Never deleted: the audit trail names its users. Deactivate instead (the account
        # administration pages, /accounts/users/).
        return False

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # After the groups field is saved, so that the authority's group is not dropped.
        user_authority_group_sync(user=form.instance)

    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "authority", "password1", "password2"],
            },
        ),
    ]


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    """The accounts' security log, read-only: rows are only ever added by the services."""

    list_display = ["created_at", "username", "kind", "detail", "address"]
    list_filter = ["kind"]
    search_fields = ["username", "address"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AccountChange)
class AccountChangeAdmin(admin.ModelAdmin):
    """The account administration log, read-only: rows are only ever added by the services."""

    list_display = ["created_at", "actor_username", "subject_username", "kind", "address"]
    list_filter = ["kind"]
    search_fields = ["actor_username", "subject_username", "address"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "actor",
        "actor_username",
        "subject",
        "subject_username",
        "kind",
        "changes",
        "address",
    ]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
