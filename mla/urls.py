from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from mla.core import views as core_views

admin.site.site_header = _("MLA exchange: administration")
admin.site.site_title = _("MLA exchange")
admin.site.index_title = _("Directory and accounts")

# The error pages: 403.html and 404.html in the site's layout (Django's own handlers render
# them); the 500 page without the request's context or the database.
handler500 = "mla.core.views.server_error"

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("accounts/api-tokens/", include("mla.api.urls_pages")),
    path("accounts/", include("mla.accounts.urls")),
    path("accounts/passkeys/", include("mla.accounts.passkey_urls")),
    path("directory/", include("contact_points.urls")),
    path("requests/", include("mla.statistics.urls")),
    path("requests/", include("mla.eevidence.urls")),
    path("requests/", include("mla.requests.urls")),
    path("notifications/", include("mla.notifications.urls")),
    path("exchange/", include("mla.exchange.urls")),
    path("node/", include("mla.node.urls")),
    path("api/v1/", include("mla.api.urls", namespace="api-v1")),
    path("admin/", admin.site.urls),
    path("", include("mla.core.urls")),
]

# Uploaded files (MEDIA_ROOT) have no URL, in DEBUG too: a document is downloaded only
# through the views that check who may see it, never by its storage path.
