from django.urls import path

from . import views

app_name = "contact_points"
urlpatterns = [
    path("", views.directory_search, name="search"),
    path("<slug:identifier>/", views.authority_page, name="authority"),
]
