from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import security_views, views
from .decorators import second_factor_step

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", second_factor_step(views.LogoutView.as_view()), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("accounts:password_done")),
        name="password_change",
    ),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_done"),
    path("language/", views.language_switch, name="language"),
    path("profile/", views.profile, name="profile"),
    path("second-factor/", security_views.second_factor_view, name="second_factor"),
    path("security/", security_views.security_view, name="security"),
    path("security/totp/", security_views.totp_enrol_view, name="totp_enrol"),
    path(
        "security/recovery-codes/",
        security_views.recovery_codes_view,
        name="recovery_codes",
    ),
    path(
        "security/remove/<str:kind>/<int:factor_id>/",
        security_views.factor_remove_view,
        name="factor_remove",
    ),
    path("reauthenticate/", security_views.reauthenticate_view, name="reauthenticate"),
]
