from django.urls import path

from . import views

app_name = "requests"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.request_new, name="new"),
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
]
