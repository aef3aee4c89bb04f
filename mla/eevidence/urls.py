from django.urls import path

from mla.eevidence import views

app_name = "eevidence"
urlpatterns = [
    path(
        "<slug:issuer>/<str:reference>/other-means/",
        views.other_means_record,
        name="other_means",
    ),
]
