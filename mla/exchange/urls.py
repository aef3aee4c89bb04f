from django.urls import path

from mla.exchange import views

app_name = "exchange"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
]
