from django.urls import path

from mla.requests.documents.eevidence_annexes import ANNEX_III, ANNEX_V, ANNEX_VI
from mla.requests.views import documents, drafting, queue, steps, tracker

app_name = "requests"
urlpatterns = [
    path("", drafting.request_list, name="list"),
    path("new/", drafting.request_new, name="new"),
    path("tracker/", tracker.tracker, name="tracker"),
    path("queue/", queue.queue, name="queue"),
    path("queue/changes/", queue.queue_changes_view, name="queue_changes"),
    path("queue/shift/", queue.shift, name="shift"),
    path("queue/acknowledge/", queue.acknowledge_bulk, name="acknowledge_bulk"),
    path("<slug:issuer>/<str:reference>/", drafting.request_detail, name="detail"),
    path(
        "<slug:issuer>/<str:reference>/section/<str:section>/",
        drafting.request_section,
        name="section",
    ),
    path("<slug:issuer>/<str:reference>/check/", drafting.request_check, name="check"),
    path(
        "<slug:issuer>/<str:reference>/language/", drafting.request_language_view, name="language"
    ),
    path(
        "<slug:issuer>/<str:reference>/transition/<str:action>/",
        steps.request_transition_view,
        name="transition",
    ),
    path("<slug:issuer>/<str:reference>/preview/", documents.request_preview, name="preview"),
    path("<slug:issuer>/<str:reference>/pdf/", documents.request_pdf_download, name="pdf"),
    path(
        "<slug:issuer>/<str:reference>/pdf/signature/",
        documents.request_pdf_signature_download,
        name="pdf_signature",
    ),
    path(
        "<slug:issuer>/<str:reference>/pdf/status/",
        documents.request_pdf_status,
        name="pdf_status",
    ),
    path("<slug:issuer>/<str:reference>/pdf/retry/", documents.request_pdf_retry, name="pdf_retry"),
    path("<slug:issuer>/<str:reference>/json/", documents.request_json_download, name="json"),
    path("<slug:issuer>/<str:reference>/annex-b/", documents.request_annex_b, name="annex_b"),
    path(
        "<slug:issuer>/<str:reference>/annex-iii/",
        documents.request_eevidence_annex,
        {"annex": ANNEX_III},
        name=ANNEX_III,
    ),
    path(
        "<slug:issuer>/<str:reference>/annex-v/",
        documents.request_eevidence_annex,
        {"annex": ANNEX_V},
        name=ANNEX_V,
    ),
    path(
        "<slug:issuer>/<str:reference>/annex-vi/",
        documents.request_eevidence_annex,
        {"annex": ANNEX_VI},
        name=ANNEX_VI,
    ),
    path(
        "<slug:issuer>/<str:reference>/duplicate/",
        drafting.request_duplicate_view,
        name="duplicate",
    ),
    path("<slug:issuer>/<str:reference>/link/", drafting.request_link_view, name="link"),
    path("<slug:issuer>/<str:reference>/share/", drafting.request_share_view, name="share"),
    path(
        "<slug:issuer>/<str:reference>/revoke/",
        drafting.request_share_view,
        {"revoke": True},
        name="revoke",
    ),
    path("<slug:issuer>/<str:reference>/attachments/", drafting.attachment_upload, name="attach"),
    path(
        "<slug:issuer>/<str:reference>/attachments/<int:attachment_id>/",
        drafting.attachment_download,
        name="attachment",
    ),
    path(
        "<slug:issuer>/<str:reference>/attachments/<int:attachment_id>/delete/",
        drafting.attachment_delete,
        name="attachment_delete",
    ),
    path("<slug:issuer>/<str:reference>/claim/", queue.claim, name="claim"),
    path("<slug:issuer>/<str:reference>/release/", queue.release, name="release"),
    path("<slug:issuer>/<str:reference>/handover/", queue.handover, name="handover"),
    path("<slug:issuer>/<str:reference>/chase/", tracker.chase, name="chase"),
]
