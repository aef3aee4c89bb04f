from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import administration_views, security_views, views
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
    path("users/", administration_views.users_list_view, name="users"),
    path("users/invite/", administration_views.user_invite_view, name="user_invite"),
    path("users/<int:user_id>/", administration_views.user_detail_view, name="user_detail"),
    path("users/<int:user_id>/access/", administration_views.user_access_view, name="user_access"),
    path(
        "users/<int:user_id>/deactivate/",
        administration_views.user_deactivate_view,
        name="user_deactivate",
    ),
    path(
        "users/<int:user_id>/reactivate/",
        administration_views.user_reactivate_view,
        name="user_reactivate",
    ),
    path(
        "users/<int:user_id>/password-reset/",
        administration_views.password_reset_view,
        name="user_password_reset",
    ),
    path(
        "users/<int:user_id>/invitation/",
        administration_views.invitation_resend_view,
        name="user_invitation_resend",
    ),
    path("link/<str:token>/", administration_views.account_link_view, name="account_link"),
]
