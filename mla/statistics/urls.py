from django.urls import path

from mla.statistics import views

app_name = "statistics"
urlpatterns = [
    path("statistics/", views.statistics, name="page"),
    path("statistics.csv", views.statistics_csv, name="csv"),
    path("statistics/e-evidence/", views.eevidence_statistics_page, name="eevidence"),
    path("statistics/e-evidence.csv", views.eevidence_statistics_csv, name="eevidence_csv"),
]
