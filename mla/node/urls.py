from django.urls import path

from mla.node import views

app_name = "node"

urlpatterns = [
    path("operations/", views.operations, name="operations"),
]
