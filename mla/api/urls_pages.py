"""The pages of a user's own API tokens, under /accounts/api-tokens/."""

from django.urls import path

from mla.api import views

app_name = "api_tokens"
urlpatterns = [
    path("", views.api_tokens_view, name="list"),
    path("new/", views.api_token_create_view, name="create"),
    path("<int:token_id>/revoke/", views.api_token_revoke_view, name="revoke"),
]
