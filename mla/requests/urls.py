from django.urls import path

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
    path("<str:reference>/", drafting.request_detail, name="detail"),
    path("<str:reference>/section/<str:section>/", drafting.request_section, name="section"),
    path("<str:reference>/check/", drafting.request_check, name="check"),
    path(
        "<str:reference>/transition/<str:action>/",
        steps.request_transition_view,
        name="transition",
    ),
    path("<str:reference>/preview/", documents.request_preview, name="preview"),
    path("<str:reference>/pdf/", documents.request_pdf_download, name="pdf"),
    path("<str:reference>/json/", documents.request_json_download, name="json"),
    path("<str:reference>/annex-b/", documents.request_annex_b, name="annex_b"),
    path("<str:reference>/duplicate/", drafting.request_duplicate_view, name="duplicate"),
    path("<str:reference>/link/", drafting.request_link_view, name="link"),
    path("<str:reference>/share/", drafting.request_share_view, name="share"),
    path("<str:reference>/revoke/", drafting.request_share_view, {"revoke": True}, name="revoke"),
    path("<str:reference>/attachments/", drafting.attachment_upload, name="attach"),
    path(
        "<str:reference>/attachments/<int:attachment_id>/",
        drafting.attachment_download,
        name="attachment",
    ),
    path(
        "<str:reference>/attachments/<int:attachment_id>/delete/",
        drafting.attachment_delete,
        name="attachment_delete",
    ),
    path("<str:reference>/claim/", queue.claim, name="claim"),
    path("<str:reference>/release/", queue.release, name="release"),
    path("<str:reference>/handover/", queue.handover, name="handover"),
    path("<str:reference>/chase/", tracker.chase, name="chase"),
]
