from django.urls import path

from mla.exchange import views, views_partners, views_transfer

app_name = "exchange"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("import/", views_transfer.import_page, name="import"),
    path("partners/", views_partners.partners, name="partners"),
    path(
        "partners/introduction/",
        views_partners.introduction_download,
        name="partner_introduction",
    ),
    path("partners/take-in/", views_partners.introduction_upload, name="partner_upload"),
    path(
        "partners/changes/<int:change_id>/decide/",
        views_partners.introduced_change_decide,
        name="partner_change_decide",
    ),
    path(
        "partners/<int:introduction_id>/",
        views_partners.introduction_review,
        name="partner_review",
    ),
    path(
        "import/<uuid:message_id>/receipt/",
        views_transfer.imported_receipt,
        name="imported_receipt",
    ),
    path(
        "requests/<slug:issuer>/<str:reference>/evidence/",
        views_transfer.evidence_download,
        name="evidence",
    ),
    path(
        "requests/<slug:issuer>/<str:reference>/messages/<uuid:message_id>/retry/",
        views_transfer.message_retry,
        name="retry",
    ),
    path(
        "requests/<slug:issuer>/<str:reference>/messages/<uuid:message_id>/file/",
        views_transfer.message_download,
        name="message_file",
    ),
    path(
        "requests/<slug:issuer>/<str:reference>/messages/<uuid:message_id>/receipt/",
        views_transfer.receipt_download,
        name="receipt_file",
    ),
    path(
        "requests/<slug:issuer>/<str:reference>/messages/<uuid:message_id>/receipt/upload/",
        views_transfer.receipt_upload,
        name="receipt_upload",
    ),
]
