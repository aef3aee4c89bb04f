from django.urls import path

from mla.requests.views import pages as views
from mla.requests.views import queue as views_queue
from mla.requests.views import tracker as views_tracker

app_name = "requests"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.request_new, name="new"),
    path("tracker/", views_tracker.tracker, name="tracker"),
    path("queue/", views_queue.queue, name="queue"),
    path("queue/changes/", views_queue.queue_changes_view, name="queue_changes"),
    path("queue/shift/", views_queue.shift, name="shift"),
    path("queue/acknowledge/", views_queue.acknowledge_bulk, name="acknowledge_bulk"),
    path("<str:reference>/", views.request_detail, name="detail"),
    path("<str:reference>/section/<str:section>/", views.request_section, name="section"),
    path("<str:reference>/check/", views.request_check, name="check"),
    path(
        "<str:reference>/transition/<str:action>/",
        views.request_transition_view,
        name="transition",
    ),
    path("<str:reference>/preview/", views.request_preview, name="preview"),
    path("<str:reference>/pdf/", views.request_pdf_download, name="pdf"),
    path("<str:reference>/json/", views.request_json_download, name="json"),
    path("<str:reference>/annex-b/", views.request_annex_b, name="annex_b"),
    path("<str:reference>/duplicate/", views.request_duplicate_view, name="duplicate"),
    path("<str:reference>/link/", views.request_link_view, name="link"),
    path("<str:reference>/share/", views.request_share_view, name="share"),
    path("<str:reference>/revoke/", views.request_share_view, {"revoke": True}, name="revoke"),
    path("<str:reference>/attachments/", views.attachment_upload, name="attach"),
    path(
        "<str:reference>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path(
        "<str:reference>/attachments/<int:attachment_id>/delete/",
        views.attachment_delete,
        name="attachment_delete",
    ),
    path("<str:reference>/claim/", views_queue.claim, name="claim"),
    path("<str:reference>/release/", views_queue.release, name="release"),
    path("<str:reference>/handover/", views_queue.handover, name="handover"),
    path("<str:reference>/chase/", views_tracker.chase, name="chase"),
]
