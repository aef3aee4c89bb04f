from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:notification_id>/open/", views.notification_open, name="open"),
    path("read-all/", views.notifications_mark_all_read, name="mark_all_read"),
    path("preferences/", views.email_preferences, name="preferences"),
]
