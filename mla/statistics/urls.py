from django.urls import path

from mla.statistics import views

app_name = "statistics"
urlpatterns = [
    path("statistics/", views.statistics, name="page"),
    path("statistics.csv", views.statistics_csv, name="csv"),
]
