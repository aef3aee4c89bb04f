from django.contrib import admin
from django.http import HttpRequest

from mla.notifications.models import EmailPreference, Notification


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["subject", "recipient", "kind", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind", "created_at"]
    list_select_related = ["recipient"]
    search_fields = ["subject", "recipient__username", "dedupe_key"]
    date_hierarchy = "created_at"
    raw_id_fields = ["recipient", "request"]


@admin.register(EmailPreference)
class EmailPreferenceAdmin(ReadOnlyAdmin):
    list_display = ["user", "kind", "email", "updated_at"]
    list_filter = ["kind", "email"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
